package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A smoke run of {@code strawless bench} on the in-process broker with a few thousand steps: it completes and
 * its figures are well-formed and consistent with each other. Never a timing: CI machines are shared.
 */
class BenchCommandTest {

    @Test
    void aSmallRunCompletesAndWritesEveryFigure(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(err))
                .execute(
                        "bench",
                        "--steps",
                        "3000",
                        "--warmup-rounds",
                        "1",
                        "--parallelism",
                        "1",
                        "--rounds",
                        "2",
                        "--live-seconds",
                        "2",
                        "--live-agents",
                        "5",
                        "--open-trajectories",
                        "50",
                        "--tokens-per-step",
                        "40",
                        "--json",
                        json.toString(),
                        // Short waits keep the live phase short (five agents leave partitions quiet for seconds, so
                        // idleness
                        // matters); java skips the backend probe.
                        "-D",
                        "execution.checkpointing.interval=1s",
                        "-D",
                        "job.max-out-of-orderness=500ms",
                        "-D",
                        "batch.max-latency=200ms",
                        "-D",
                        "job.source-idleness=1s",
                        "-D",
                        "credit.backend=java",
                        // Group-relative, as RL trainers mostly run it: the report then also times each trajectory
                        // from its group's last outcome (null under the other estimators).
                        "-D",
                        "credit.estimator=grpo",
                        // Not the broker's default (7 days): the bench's topics must be made as the job's provisioner
                        // checks them, or every job run stops on DRIFT, as it did on clusters with other defaults.
                        "-D",
                        "topics.retention=1d");
        assertEquals(0, exitCode, out + "\n" + err);

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        long steps = report.get("steps").asLong();
        assertTrue(steps > 0, report.toString());
        assertTrue(report.get("records").asLong() > steps, "outcomes and verdicts come with the steps: " + report);
        double passthrough = report.get("passthrough_steps_per_second").asDouble();
        double job = report.get("job_steps_per_second").asDouble();
        assertTrue(passthrough > 0 && job > 0, report.toString());
        assertEquals(job / passthrough, report.get("ratio_to_passthrough").asDouble(), 1e-9);
        assertEquals(1, report.get("headline_parallelism").asInt(), "the headline compares at one parallelism");
        assertTrue(report.get("job_steps_per_cpu_second").asDouble() > 0, report.toString());
        assertTrue(report.get("job_steps_per_cpu_second_less_jit").asDouble()
                >= report.get("job_steps_per_cpu_second").asDouble(), report.toString());

        assertTrue(report.get("latency_trajectories").asInt() > 0, report.toString());
        assertEquals(0, report.get("latency_unseen").asInt(), "every measured trajectory became visible: " + report);
        double p50 = report.get("p50_latency_ms").asDouble();
        double p99 = report.get("p99_latency_ms").asDouble();
        assertTrue(0 < p50 && p50 <= p99, report.toString());
        assertTrue(report.get("p99_outcome_to_batch_ms").asDouble() <= p99, "a batch is made before it is visible");
        // A group's last outcome comes no earlier than its member's own.
        assertEquals("grpo", report.get("estimator").asText());
        assertTrue(report.get("group_relative").asBoolean(), report.toString());
        assertTrue(report.get("p50_group_last_outcome_to_visible_ms").isNumber(), report.toString());
        assertTrue(report.get("p50_group_last_outcome_to_visible_ms").asDouble() <= p50, report.toString());
        assertTrue(report.get("p99_group_last_outcome_to_visible_ms").asDouble() <= p99, report.toString());
        assertEquals(1000 + 1000, report.get("latency_goal_ms").asLong());

        // What the live traffic cost: the fleet's own threads are not the job's.
        assertTrue(report.get("live_steps_per_second").asDouble() > 0, report.toString());
        assertTrue(report.get("live_cpu_micros_per_step").asDouble() > 0, report.toString());
        JsonNode liveThreads = report.get("live_cpu_by_thread");
        assertTrue(liveThreads.size() > 0, report.toString());
        liveThreads.forEach(thread -> assertTrue(!thread.get("threads").asText().contains("bench-live-"), thread.toString()));
        // The middle third of the same window: part of its CPU time, none of the bench's threads either.
        double settledCpu = report.get("live_settled_cpu_seconds").asDouble();
        assertTrue(0 < settledCpu && settledCpu < report.get("live_cpu_seconds").asDouble(), report.toString());
        assertTrue(report.get("live_settled_cpu_micros_per_step").asDouble() > 0, report.toString());
        JsonNode settledThreads = report.get("live_settled_cpu_by_thread");
        assertTrue(settledThreads.size() > 0, report.toString());
        settledThreads.forEach(
                thread -> assertTrue(!thread.get("threads").asText().contains("bench-live-"), thread.toString()));
        assertTrue(report.get("state_bytes_per_open_trajectory").asDouble() > 0, report.toString());
        assertEquals("java", report.get("backend").asText());
        assertEquals("hashmap", report.get("state_backend").asText());
        assertEquals(686, report.get("managed_memory_mb_per_slot").asLong(), "the deployment's, by default");
        assertEquals(1, report.get("mini_batch_size").asInt(), "no mini-batches on the heap, by default");
        assertEquals(100, report.get("agents").asInt(), "the demo's fleet, by default");
        assertEquals(40, report.get("tokens_per_step").asInt());
        assertTrue(report.get("in_process_broker").asBoolean(), report.toString());
        // A smoke run's middles last a fraction of a second, fewer than two commit intervals: the report says so.
        JsonNode warnings = report.get("warnings");
        assertTrue(warnings.isArray() && warnings.size() > 0, report.toString());
        assertTrue(warnings.get(0).asText().contains("less than two commit intervals"), warnings.toString());
        assertTrue(out.toString().contains("Warning: the passthrough's measured middle at p1 lasted"), out.toString());

        assertEquals(2, report.get("rounds").asInt());
        JsonNode runs = report.get("runs");
        assertEquals(2, runs.size(), "one row per contender and parallelism, the median of the rounds: " + report);
        assertEquals(
                List.of("passthrough", "job"),
                List.of(
                        runs.get(0).get("contender").asText(),
                        runs.get(1).get("contender").asText()));
        JsonNode jobRun = runs.get(1);
        assertTrue(
                jobRun.get("batched_steps").asLong() > 0
                        && jobRun.get("batched_steps").asLong() <= steps,
                jobRun.toString());
        assertTrue(runs.get(0).get("ratio_to_passthrough").isNull(), runs.toString());
        for (JsonNode run : runs) {
            // The rate is the middle of the run's: inside it, and shorter.
            double middle = run.get("middle_seconds").asDouble();
            assertTrue(0 < middle && middle < run.get("seconds").asDouble(), run.toString());
            assertTrue(run.get("middle_cpu_seconds").asDouble() > 0, run.toString());
        }

        String printed = out.toString();
        assertTrue(printed.contains("steps/CPU-s"), printed);
        assertTrue(printed.contains("live phase"), printed);
        assertTrue(printed.contains("Live traffic: "), printed);
        assertTrue(printed.contains("job-p1-r2"), "each round's runs are reported: " + printed);
        assertTrue(printed.contains("the median of 2 rounds"), printed);
        assertTrue(printed.contains("warm-up-1-job-p1: "), "the warm-up round runs, reported apart: " + printed);
    }

    /**
     * On a broker given by address, every run's output topics and consumer group are deleted once its figures are
     * taken, so that no two runs' outputs are on the broker at once (kept, they piled up over the rounds, on disk and
     * in the page cache), and nothing of the bench is left at its end. A watcher lists the broker's topics and groups
     * all along; kept, the first run's topic stays to the end, which it could not miss.
     */
    @Test
    void eachRunsOutputsAreDeletedOnceItsFiguresAreTaken() throws Exception {
        try (EmbeddedKafka broker = EmbeddedKafka.start();
                Admin admin = Admin.create(Map.<String, Object>of(
                        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            OutputWatcher watcher = new OutputWatcher(admin);
            Thread watching = new Thread(watcher, "bench-test-watcher");
            watching.start();
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exitCode;
            try {
                exitCode = StrawlessCli.commandLine()
                        .setOut(new PrintWriter(out))
                        .setErr(new PrintWriter(err))
                        .execute("bench", "--steps", "500", "--warmup-rounds", "0", "--parallelism", "1", "--rounds",
                                "2", "--live-seconds", "1", "--live-agents", "2", "--open-trajectories", "10",
                                "-D", "kafka.bootstrap-servers=" + broker.bootstrapServers(),
                                "-D", "execution.checkpointing.interval=500ms",
                                "-D", "job.max-out-of-orderness=500ms",
                                "-D", "batch.max-latency=200ms",
                                "-D", "job.source-idleness=1s",
                                "-D", "credit.backend=java");
            } finally {
                watcher.stop();
                watching.join();
            }
            assertEquals(0, exitCode, out + "\n" + err);

            assertTrue(watcher.runsSeen.size() >= 2, "the watcher saw the runs go by: " + watcher.runsSeen);
            assertEquals(Set.of(), watcher.overlaps, "one run's outputs at a time");
            assertEquals(Set.of(), bench(admin.listTopics().names().get()), "no topic left");
            assertEquals(Set.of(), bench(admin.listGroups().all().get().stream()
                    .map(GroupListing::groupId)
                    .collect(Collectors.toSet())), "no group left");
        }
    }

    /** A bench's topic: {@code bench-<8 hex digits>.<run>.credit.<output>} for a run's outputs. */
    private static final Pattern OUTPUT_TOPIC = Pattern.compile("bench-\\p{XDigit}{8}\\.(.+)\\.credit\\.\\w+");
    /** A measured run's consumer group, {@code bench-<8 hex digits>-<run>}: the live phase's are left to the end. */
    private static final Pattern RUN_GROUP = Pattern.compile("bench-\\p{XDigit}{8}-(.*(passthrough|job)-p\\d+.*)");

    private static Set<String> bench(Set<String> names) {
        return names.stream().filter(name -> name.startsWith("bench-")).collect(Collectors.toSet());
    }

    /** Lists the broker's topics and groups until stopped, noting every listing that holds several runs' outputs. */
    private static final class OutputWatcher implements Runnable {
        private final Admin admin;
        private final Set<String> runsSeen = ConcurrentHashMap.newKeySet();
        /** Each distinct listing of several runs' outputs, once. */
        private final Set<String> overlaps = ConcurrentHashMap.newKeySet();
        private volatile boolean stopped;

        OutputWatcher(Admin admin) {
            this.admin = admin;
        }

        void stop() {
            stopped = true;
        }

        @Override
        public void run() {
            while (!stopped) {
                try {
                    note("topics", runs(admin.listTopics().names().get(), OUTPUT_TOPIC));
                    note("groups", runs(admin.listGroups().all().get().stream()
                            .map(GroupListing::groupId)
                            .collect(Collectors.toSet()), RUN_GROUP));
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                } catch (ExecutionException e) {
                    // A listing that failed shows nothing; the next one will.
                }
            }
        }

        private void note(String what, Set<String> runs) {
            runsSeen.addAll(runs);
            if (runs.size() > 1) {
                overlaps.add(what + " of " + new TreeSet<>(runs));
            }
        }

        private static Set<String> runs(Set<String> names, Pattern pattern) {
            return names.stream()
                    .map(pattern::matcher)
                    .filter(Matcher::matches)
                    .map(matcher -> matcher.group(1))
                    .collect(Collectors.toSet());
        }
    }

    private record Outcome(int exitCode, String out, String err) {}

    /** A bench that stops at its flags' checks, before anything starts. */
    private static Outcome refused(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(err))
                .execute(Stream.concat(Stream.of("bench"), Stream.of(args)).toArray(String[]::new));
        return new Outcome(exitCode, out.toString(), err.toString());
    }

    @Test
    void badFlagsAreUsageErrors() {
        Outcome parallelism = refused("--parallelism", "1,0");
        assertEquals(2, parallelism.exitCode());
        assertTrue(parallelism.err().contains("--parallelism"), parallelism.err());

        Outcome tokens = refused("--tokens-per-step", "-1");
        assertEquals(2, tokens.exitCode());
        assertTrue(tokens.err().contains("--tokens-per-step must be at least 0"), tokens.err());

        Outcome oversized = refused("--tokens-per-step", "40000");
        assertEquals(2, oversized.exitCode());
        assertTrue(oversized.err().contains("--tokens-per-step 40000 exceeds job.max-tokens-per-step (32768)"),
                oversized.err());
    }

    /**
     * The bench reads the job's progress through its own metric reporter: a -D metrics.reporters that leaves it out
     * would leave the first job run waiting for a first record that is never counted.
     */
    @Test
    void aReporterListWithoutTheBenchsReporterIsRefusedBeforeAnythingStarts() {
        Outcome jmxOnly = refused("-D", "metrics.reporters=jmx");
        assertEquals(2, jmxOnly.exitCode(), jmxOnly.err());
        assertTrue(jmxOnly.err().contains("-D metrics.reporters=jmx leaves out the reporter the job's books are read"
                + " through: -D metrics.reporters must name strawless-demo, or be left unset"), jmxOnly.err());
        assertEquals("", jmxOnly.out(), "no broker started, nothing preloaded");
    }

    @Test
    void aSettingTheJobRefusesIsAUsageErrorBeforeAnythingStarts() {
        Outcome transactions = refused("-D", "kafka.transaction-timeout=1s");
        assertEquals(2, transactions.exitCode(), transactions.err());
        assertTrue(transactions.err().contains("-D kafka.transaction-timeout"), transactions.err());
        assertEquals("", transactions.out(), "no broker started, nothing preloaded");

        Outcome parallelism = refused("-D", "parallelism.default=4");
        assertEquals(2, parallelism.exitCode(), parallelism.err());
        assertTrue(parallelism.err().contains("set that instead (e.g. --parallelism 4)"), parallelism.err());
    }

    /** As the provisioner does: soon, in one line that says what to set, and not masked by the failed cleanup. */
    @Test
    void anUnreachableBrokerFailsSoonWithOneClearLine() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        StringWriter err = new StringWriter();
        // A generous guard against hanging (it took two minutes), not a performance assertion.
        int exitCode = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> StrawlessCli.commandLine()
                .setOut(new PrintWriter(new StringWriter()))
                .setErr(new PrintWriter(err))
                .execute("bench", "--parallelism", "1", "-D", "kafka.bootstrap-servers=127.0.0.1:" + closedPort,
                        "-D", "kafka.admin-timeout=1s"));

        assertEquals(1, exitCode, err.toString());
        assertEquals("strawless bench: Kafka broker not reachable at 127.0.0.1:" + closedPort
                + " within 1s (set kafka.bootstrap-servers)", err.toString().strip());
    }

    @Test
    void percentilesAreNearestRankAndUnknownWhenTheyFallOnAnUnseenTrajectory() {
        double[] latencies = {40, 10, 30, 20};
        assertEquals(20.0, LatencyProbe.percentile(latencies, 50));
        assertEquals(40.0, LatencyProbe.percentile(latencies, 99));
        assertNull(LatencyProbe.percentile(new double[] {10, Double.POSITIVE_INFINITY}, 99));
        assertNull(LatencyProbe.percentile(new double[0], 50));
    }
}
