package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.strawless.connectors.KafkaOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The deployment files in ops/deploy parse, use only configuration keys that exist (so a typo or a key that
 * Flink 2 renamed cannot be silently ignored), and carry the settings the deployment relies on. Running the
 * compose stack is {@code ComposeStackIT}'s part.
 */
class DeploymentManifestsTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path DEPLOY = Path.of("deploy");
    private static final FlinkKeys KEYS = new FlinkKeys();

    @Test
    void theFlinkDeploymentRunsTheJarInApplicationModeWithDurableExactlyOnceStateAndPrometheus() throws IOException {
        JsonNode deployment = YAML.readTree(DEPLOY.resolve("flink-deployment.yaml").toFile());
        assertEquals("flink.apache.org/v1beta1", deployment.path("apiVersion").asText());
        assertEquals("FlinkDeployment", deployment.path("kind").asText());
        JsonNode spec = deployment.path("spec");
        assertEquals("v2_2", spec.path("flinkVersion").asText());

        JsonNode job = spec.path("job");
        assertEquals("local:///opt/flink/usrlib/strawless-job.jar", job.path("jarURI").asText());
        assertEquals(ClusterJobMain.class.getName(), job.path("entryClass").asText());
        assertEquals("savepoint", job.path("upgradeMode").asText());
        assertEquals("running", job.path("state").asText());

        Map<String, String> conf = flat(spec.path("flinkConfiguration"));
        assertKnownKeys(conf);
        assertEquals("EXACTLY_ONCE", conf.get("execution.checkpointing.mode"));
        assertTrue(conf.containsKey("execution.checkpointing.interval"), "exactly-once output commits on checkpoints");
        assertTrue(conf.get("execution.checkpointing.dir").startsWith("s3://"), "checkpoints on durable storage");
        assertTrue(conf.get("execution.checkpointing.savepoint-dir").startsWith("s3://"),
                "savepoints on durable storage");
        assertTrue(conf.get("high-availability.storageDir").startsWith("s3://"));
        assertEquals("org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                conf.get("metrics.reporter.prom.factory.class"));
        assertTrue(conf.containsKey(KafkaOptions.BOOTSTRAP_SERVERS.key()));
        assertTheJobBuildsOn(conf);

        // The S3 file system is a plugin the image must enable, for the Flink version the image runs.
        JsonNode container = spec.path("podTemplate").path("spec").path("containers").get(0);
        assertEquals("flink-main-container", container.path("name").asText());
        assertTrue(container.path("env").toString().contains("flink-s3-fs-presto-2.2.1.jar"), container.toString());
    }

    @Test
    void theComposeStackRunsKafkaTheTopicsAndTheJobOnFlink() throws IOException {
        JsonNode compose = YAML.readTree(DEPLOY.resolve("compose.yaml").toFile());
        JsonNode services = compose.path("services");
        assertEquals("apache/kafka:4.2.0", services.path("kafka").path("image").asText());
        String roles = services.path("kafka").path("environment").path("KAFKA_PROCESS_ROLES").asText();
        assertTrue(roles.contains("controller"), "KRaft: the broker is its own controller");
        assertTrue(String.join(" ", strings(services.path("topics").path("entrypoint")))
                .endsWith("topics create -D kafka.bootstrap-servers=kafka:9092"));

        JsonNode jobManager = services.path("jobmanager");
        JsonNode taskManager = services.path("taskmanager");
        assertEquals("flink:2.2.1", jobManager.path("image").asText());
        assertEquals("flink:2.2.1", taskManager.path("image").asText());
        assertEquals("standalone-job --job-classname " + ClusterJobMain.class.getName(),
                jobManager.path("command").asText());
        assertEquals("taskmanager", taskManager.path("command").asText());
        for (JsonNode flink : List.of(jobManager, taskManager)) {
            assertTrue(flink.path("volumes").toString()
                    .contains("../target/strawless-job.jar:/opt/flink/usrlib/strawless-job.jar"),
                    "application mode: the JobManager and the TaskManagers load the job from usrlib");
        }
        assertEquals("service_completed_successfully",
                jobManager.path("depends_on").path("topics").path("condition").asText(),
                "the job starts once the topics exist");

        Map<String, String> conf = flinkProperties(jobManager);
        Map<String, String> taskManagerConf = flinkProperties(taskManager);
        assertKnownKeys(conf);
        assertKnownKeys(taskManagerConf);
        assertEquals("jobmanager", taskManagerConf.get("jobmanager.rpc.address"));
        assertEquals("EXACTLY_ONCE", conf.get("execution.checkpointing.mode"));
        assertEquals("kafka:9092", conf.get(KafkaOptions.BOOTSTRAP_SERVERS.key()));
        assertEquals("org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                conf.get("metrics.reporter.prom.factory.class"));
        assertTheJobBuildsOn(conf);
        List<String> values = new ArrayList<>(conf.values());
        values.addAll(taskManagerConf.values());
        for (String value : values) {
            assertTrue(!value.contains(" "), "the image's entrypoint deletes the spaces inside values: " + value);
        }
    }

    /**
     * Both run the job's JVMs with the JDK's signal chaining preloaded, as ops/strawless and the tests do: an OpenCL
     * runtime built on LLVM (PoCL) in the image would otherwise replace the JVM's SIGSEGV handler and crash it later.
     * The path is the JDK's in the flink image both build on (eclipse-temurin's JAVA_HOME, /opt/java/openjdk).
     */
    @Test
    void bothDeploymentsPreloadTheJdksSignalChaining() throws IOException {
        String libjsig = "/opt/java/openjdk/lib/libjsig.so";
        JsonNode container = YAML.readTree(DEPLOY.resolve("flink-deployment.yaml").toFile())
                .path("spec").path("podTemplate").path("spec").path("containers").get(0);
        List<String> preloads = new ArrayList<>();
        container.path("env").forEach(variable -> {
            if (variable.path("name").asText().equals("LD_PRELOAD")) {
                preloads.add(variable.path("value").asText());
            }
        });
        assertEquals(List.of(libjsig), preloads, container.toString());

        JsonNode services = YAML.readTree(DEPLOY.resolve("compose.yaml").toFile()).path("services");
        for (String flink : List.of("jobmanager", "taskmanager")) {
            assertEquals(libjsig, services.path(flink).path("environment").path("LD_PRELOAD").asText(), flink);
        }
    }

    /**
     * The launcher and the compose stack run the CLI jar by the one name the build gives it. With a version in the
     * name, a build after a version bump left two jars in target/: the launcher's glob picked the older, and the
     * compose stack's expanded to two arguments.
     */
    @Test
    void theLauncherAndTheComposeStackRunTheCliJarTheBuildWrites() throws Exception {
        String built = cliJarOutputFile();
        assertEquals("${project.build.directory}/strawless-cli.jar", built, "one name, whatever the version");
        String jar = built.substring(built.lastIndexOf('/') + 1);

        JsonNode topics = YAML.readTree(DEPLOY.resolve("compose.yaml").toFile()).path("services").path("topics");
        assertTrue(strings(topics.path("volumes")).contains("../target:/opt/strawless:ro"), topics.toString());
        assertEquals(List.of("java", "-jar", "/opt/strawless/" + jar), strings(topics.path("entrypoint")).subList(0, 3),
                "run without a shell: no glob to expand");

        String launcher = Files.readString(Path.of("strawless"));
        assertTrue(launcher.contains("cli_jar=\"$repo/ops/target/" + jar + "\""), launcher);
        assertTrue(launcher.contains("exec java -jar \"$cli_jar\""), launcher);
        assertFalse(launcher.contains("strawless-cli-"), "no versioned name, no glob");
    }

    /** The outputFile of the shade execution that builds the CLI jar, as ops/pom.xml writes it. */
    private static String cliJarOutputFile() throws Exception {
        Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of("pom.xml").toFile());
        NodeList executions = pom.getElementsByTagName("execution");
        for (int i = 0; i < executions.getLength(); i++) {
            Element execution = (Element) executions.item(i);
            if (execution.getElementsByTagName("id").item(0).getTextContent().equals("cli")) {
                return execution.getElementsByTagName("outputFile").item(0).getTextContent();
            }
        }
        throw new AssertionError("ops/pom.xml has no shade execution with the id cli");
    }

    private static List<String> strings(JsonNode array) {
        List<String> strings = new ArrayList<>();
        array.forEach(element -> strings.add(element.asText()));
        return strings;
    }

    @Test
    void theKeyCheckKnowsFlinkAndStrawlessKeysAndCatchesTyposAndFlink1Keys() {
        assertNull(KEYS.problemWith("execution.checkpointing.dir"));
        assertNull(KEYS.problemWith("state.backend.type"));
        assertNull(KEYS.problemWith(KafkaOptions.TRANSACTION_TIMEOUT.key()));
        assertNull(KEYS.problemWith("kafka.client.security.protocol"));
        assertNotNull(KEYS.problemWith("state.checkpoints.dir"), "Flink 1's name of execution.checkpointing.dir");
        assertNotNull(KEYS.problemWith("execution.checkpointing.intervall"));
    }

    /** The cluster entry point accepts the settings: every Strawless key and value, and the checks the job makes. */
    private static void assertTheJobBuildsOn(Map<String, String> conf) {
        List<String> args = new ArrayList<>();
        conf.forEach((key, value) -> {
            args.add("--" + key);
            args.add(value);
        });
        ClusterJobMain.prepare(args.toArray(String[]::new));
    }

    private static void assertKnownKeys(Map<String, String> conf) {
        List<String> problems = new ArrayList<>();
        for (String key : conf.keySet()) {
            String problem = KEYS.problemWith(key);
            if (problem != null) {
                problems.add(problem);
            }
        }
        assertEquals(List.of(), problems);
    }

    /** flinkConfiguration, with nested maps flattened to dotted keys as Flink reads them. */
    private static Map<String, String> flat(JsonNode node) {
        Map<String, String> flat = new LinkedHashMap<>();
        node.fields().forEachRemaining(entry -> {
            if (entry.getValue().isObject()) {
                flat(entry.getValue()).forEach((key, value) -> flat.put(entry.getKey() + "." + key, value));
            } else {
                flat.put(entry.getKey(), entry.getValue().asText());
            }
        });
        return flat;
    }

    /** A Flink service's FLINK_PROPERTIES, which the image's entrypoint reads: one {@code key: value} per line. */
    private static Map<String, String> flinkProperties(JsonNode service) {
        Map<String, String> properties = new LinkedHashMap<>();
        for (String line : service.path("environment").path("FLINK_PROPERTIES").asText().split("\n")) {
            if (!line.isBlank()) {
                int colon = line.indexOf(':');
                properties.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return properties;
    }
}
