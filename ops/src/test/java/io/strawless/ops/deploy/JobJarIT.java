package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.SyntheticFleet;
import io.strawless.schemas.ScoredTrajectory;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded job jar as a Flink 2.2 cluster gets it (runs after {@code package}, in {@code mvn verify}).
 *
 * <p>The cluster here is a child JVM whose classpath is what a Flink distribution's lib/ holds (Flink's
 * runtime with the libraries it bundles, and log4j) and nothing else, started with the JVM options the
 * distribution passes. It runs Flink's own command line, {@code flink run -t local strawless-job.jar}: the
 * CLI builds the job from the jar in a user-code class loader, and a local cluster runs it, loading the
 * jar in the task managers' class loaders as a remote cluster does. Against the in-process broker of this
 * test, with a bounded source so that {@code flink run} returns once the job has finished.
 */
class JobJarIT {

    private static final Path JOB_JAR = Path.of("target/strawless-job.jar");
    private static final FleetSettings FLEET = new FleetSettings(10, 6, 120, 4, 3, 8, 0.02, 0.05, 0.2, 5);

    /**
     * What a Flink 2.2 distribution's lib/ provides, by Maven path: Flink's runtime, the libraries it depends
     * on (and so bundles), the RocksDB state backend, and the logging stack. Taken from this test's classpath.
     */
    private static final Pattern FLINK_DIST = Pattern.compile(".*/("
            + "org/apache/flink/flink-(?!connector-kafka|avro|test-utils)"
            + "|org/apache/commons/|commons-io/|commons-collections/|commons-cli/|commons-codec/|com/esotericsoftware/"
            + "|org/objenesis/|org/snakeyaml/|org/javassist/|com/google/code/findbugs/|tools/profiler/|com/ververica/"
            + "|org/slf4j/|org/apache/logging/log4j/).*\\.jar");
    /** On this classpath for the in-process broker; neither the job nor a Flink cluster has them. */
    private static final Pattern BROKER = Pattern.compile(".*/(org/apache/kafka/(?!kafka-clients/)|org/scala-lang/"
            + "|com/typesafe/).*\\.jar");
    /** The JVM options Flink's distribution passes to every process (env.java.default-opts.all). */
    private static final List<String> FLINK_JVM_OPTIONS = List.of(
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.text=ALL-UNNAMED",
            "--add-opens=java.base/java.time=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    @Test
    void holdsTheJobAndItsLibrariesButNothingAFlinkClusterProvides() throws IOException {
        Set<String> classes = classesIn(JOB_JAR);
        List<Class<?>> carried = List.of(ClusterJobMain.class, io.strawless.pipeline.StrawlessJob.class,
                org.apache.flink.connector.kafka.source.KafkaSource.class,
                org.apache.kafka.clients.consumer.KafkaConsumer.class, org.apache.avro.Schema.class,
                com.aparapi.Kernel.class);
        for (String required : carried.stream().map(JobJarIT::entryOf).toList()) {
            assertTrue(classes.contains(required), required + " is in the job jar");
        }
        assertTrue(classes.contains(entryOf(KafkaPreflight.class)), "the checks the entry point runs");
        assertEquals(Set.of(), classes.stream().filter(c -> c.startsWith("io/strawless/ops/"))
                .filter(c -> !c.startsWith("io/strawless/ops/deploy/ClusterJobMain")
                        && !c.startsWith("io/strawless/ops/deploy/KafkaPreflight")).collect(Collectors.toSet()),
                "of the ops module, only the entry point and what it runs");
        assertEquals(Set.of(), classes.stream().filter(c -> c.startsWith("scala/")).collect(Collectors.toSet()),
                "no Scala: Aparapi declares scala-library, but none of its classes uses it");

        List<File> provided = jarsMatching(FLINK_DIST, BROKER);
        for (String expected : List.of("flink-runtime-", "flink-connector-base-", "flink-statebackend-rocksdb-",
                "commons-lang3-", "log4j-core-", "kafka_2.13-", "scala-library-")) {
            assertTrue(provided.stream().anyMatch(jar -> jar.getName().startsWith(expected)),
                    expected + " is compared");
        }
        List<String> clashes = new ArrayList<>();
        for (File jar : provided) {
            Set<String> shared = new TreeSet<>(classesIn(jar.toPath()));
            shared.retainAll(classes);
            if (!shared.isEmpty()) {
                clashes.add(jar.getName() + " (" + shared.size() + " classes, e.g. " + shared.iterator().next() + ")");
            }
        }
        assertEquals(List.of(), clashes, "classes the cluster provides itself, or that belong to the Kafka broker");

        try (JarFile jar = new JarFile(JOB_JAR.toFile())) {
            assertEquals(ClusterJobMain.class.getName(), jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
    }

    @Test
    void runsWithFlinkRunOnAClasspathOfFlinkAloneAndPublishesBatches(@TempDir Path flinkConf) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Configuration conf = new Configuration();
            conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            TopicProvisioner.ensureTopics(conf);
            FleetScript script = FleetScript.generate(FLEET, Instant.now());
            new SyntheticFleet(conf).send(script);
            long end = script.records().stream().mapToLong(FleetRecord::timestamp).max().orElseThrow() + 1;

            Files.writeString(flinkConf.resolve("config.yaml"), String.join("\n",
                    "rest.bind-port: 0", "taskmanager.numberOfTaskSlots: 4", "parallelism.default: 2", ""));
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(FLINK_JVM_OPTIONS);
            command.addAll(List.of("-cp", jarsMatching(FLINK_DIST).stream().map(File::getPath)
                    .collect(Collectors.joining(File.pathSeparator)),
                    "org.apache.flink.client.cli.CliFrontend", "run", "-t", "local",
                    // The job's settings the way a user passes them to `flink run`.
                    "-Dkafka.bootstrap-servers=" + kafka.bootstrapServers(),
                    "-Dexecution.checkpointing.interval=1s",
                    "-Dexecution.checkpointing.dir=" + flinkConf.resolve("checkpoints").toUri(),
                    "-Dsource.starting-offsets=earliest",
                    "-Dsource.stop-timestamp=" + end,
                    JOB_JAR.toString()));
            Path log = Path.of("target", "JobJarIT-flink-run.log");
            ProcessBuilder flinkRun = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            flinkRun.environment().put("FLINK_CONF_DIR", flinkConf.toString());
            Process process = flinkRun.start();
            try {
                assertTrue(process.waitFor(5, TimeUnit.MINUTES), "flink run did not return; see " + log);
            } finally {
                process.destroyForcibly();
            }
            assertEquals(0, process.exitValue(), "flink run failed:\n" + tail(log));

            CreditOutput output = CreditOutput.readCommitted(conf);
            Set<String> completed = script.ledger().trajectories().values().stream()
                    .filter(t -> t.outcome().isPresent())
                    .map(SentTrajectory::trajectoryId).collect(Collectors.toCollection(TreeSet::new));
            assertTrue(!output.batches().isEmpty(), "the job published batches");
            assertEquals(completed, output.scoredTrajectories().map(ScoredTrajectory::getTrajectoryId)
                    .collect(Collectors.toCollection(TreeSet::new)), "every trajectory whose outcome was sent is scored");
            assertEquals(script.ledger().malformed().size(), output.deadLetters().size(),
                    "malformed records are dead letters");
        }
    }

    /** The jars of this test's classpath whose Maven path matches one of {@code patterns}. */
    private static List<File> jarsMatching(Pattern... patterns) {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(path -> Stream.of(patterns).anyMatch(pattern -> pattern.matcher(path).matches()))
                .map(File::new)
                .toList();
    }

    private static Set<String> classesIn(Path jar) {
        try (JarFile file = new JarFile(jar.toFile())) {
            return file.stream().map(entry -> entry.getName())
                    .filter(name -> name.endsWith(".class") && !name.startsWith("META-INF/")
                            && !name.endsWith("module-info.class"))
                    .collect(Collectors.toSet());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + jar, e);
        }
    }

    private static String entryOf(Class<?> type) {
        return type.getName().replace('.', '/') + ".class";
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
