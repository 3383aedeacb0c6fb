package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.DockerPreconditions;
import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.SyntheticFleet;
import io.strawless.schemas.ScoredTrajectory;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * ops/deploy/compose.yaml as a user starts it: Kafka, the topics, Flink with the job; then a synthetic fleet
 * sends from the host and a trainer reads the batches. Needs Docker with the compose plugin, the stack's images
 * (pulled first) and the host ports it publishes (29092, 8081, 9249, 9250) free; skipped where one of them is
 * missing, and failed for that in CI ({@link DockerPreconditions}).
 */
@Testcontainers(disabledWithoutDocker = true)
class ComposeStackIT {

    private static final File COMPOSE_FILE = new File("deploy/compose.yaml");
    private static final FleetSettings FLEET = new FleetSettings(10, 6, 120, 4, 3, 8, 0.02, 0.05, 0.2, 3);
    private static final Duration JOB_START_LIMIT = Duration.ofMinutes(5);
    private static final Duration OUTPUT_LIMIT = Duration.ofMinutes(3);

    @Test
    void theStackRunsTheJobAgainstItsKafkaAndPublishesBatches() throws Exception {
        assumeTrue(composePluginPresent(), "docker compose is not installed");
        assumeTrue(DockerClientFactory.instance().dockerHostIpAddress().matches("localhost|127\\.0\\.0\\.1"),
                "the stack advertises Kafka at localhost:29092: it needs a local Docker");
        JsonNode services = new ObjectMapper(new YAMLFactory()).readTree(COMPOSE_FILE).path("services");
        DockerPreconditions.requireFreePorts(hostPorts(services));
        DockerPreconditions.requireImages(images(services));
        ComposeContainer stack = new ComposeContainer(COMPOSE_FILE).withRemoveVolumes(true);
        try {
            stack.start();
            awaitRunningJob();

            Configuration conf = new Configuration();
            conf.set(KafkaOptions.BOOTSTRAP_SERVERS, "localhost:29092");
            FleetScript script = FleetScript.generate(FLEET, Instant.now());
            new SyntheticFleet(conf).send(script);

            // The job runs on: a trainer sees batches as checkpoints commit them.
            Set<String> completed = script.ledger().trajectories().values().stream()
                    .filter(t -> t.outcome().isPresent())
                    .map(SentTrajectory::trajectoryId).collect(Collectors.toCollection(TreeSet::new));
            Set<String> scored = Set.of();
            Instant deadline = Instant.now().plus(OUTPUT_LIMIT);
            while (!scored.containsAll(completed) && Instant.now().isBefore(deadline)) {
                Thread.sleep(5_000);
                scored = CreditOutput.readCommitted(conf).scoredTrajectories().map(ScoredTrajectory::getTrajectoryId)
                        .collect(Collectors.toCollection(TreeSet::new));
            }
            assertEquals(completed, scored, "every trajectory whose outcome was sent is scored, once committed");
        } finally {
            stack.stop();
        }
    }

    /** Until the JobManager's REST API lists the job as RUNNING. */
    private static void awaitRunningJob() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest overview = HttpRequest.newBuilder(URI.create("http://localhost:8081/jobs/overview")).build();
        ObjectMapper json = new ObjectMapper();
        Instant deadline = Instant.now().plus(JOB_START_LIMIT);
        while (Instant.now().isBefore(deadline)) {
            try {
                String body = http.send(overview, HttpResponse.BodyHandlers.ofString()).body();
                JsonNode jobs = json.readTree(body).path("jobs");
                for (JsonNode job : jobs) {
                    assertTrue(!job.path("state").asText().equals("FAILED"), "the job failed: " + job);
                    if (job.path("state").asText().equals("RUNNING")) {
                        return;
                    }
                }
            } catch (java.io.IOException notYetListening) {
                // The JobManager is still starting.
            }
            Thread.sleep(1_000);
        }
        throw new AssertionError("no running job within " + JOB_START_LIMIT.toMinutes() + " min");
    }

    /** The host side of each service's published ports ("29092:29092", "9250:9249"). */
    private static int[] hostPorts(JsonNode services) {
        List<Integer> ports = new ArrayList<>();
        services.forEach(service -> service.path("ports").forEach(
                mapping -> ports.add(Integer.parseInt(mapping.asText().split(":")[0]))));
        return ports.stream().mapToInt(Integer::intValue).toArray();
    }

    private static String[] images(JsonNode services) {
        Set<String> images = new TreeSet<>();
        services.forEach(service -> images.add(service.path("image").asText()));
        return images.toArray(String[]::new);
    }

    private static boolean composePluginPresent() throws InterruptedException {
        try {
            Process version = new ProcessBuilder("docker", "compose", "version").redirectErrorStream(true).start();
            return version.waitFor(30, TimeUnit.SECONDS) && version.exitValue() == 0;
        } catch (java.io.IOException noDocker) {
            return false;
        }
    }
}
