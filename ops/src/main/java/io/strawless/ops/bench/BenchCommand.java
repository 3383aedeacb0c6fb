package io.strawless.ops.bench;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.KafkaOptions.StartingOffsets;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import io.strawless.ops.ConfigurationOptions;
import io.strawless.ops.LocalCheckpoints;
import io.strawless.ops.OutputFiles;
import io.strawless.ops.demo.JobMetrics;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.ops.fleet.SyntheticFleet;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessJob;
import io.strawless.pipeline.assembly.MiniBatchAssembler;
import io.strawless.pipeline.credit.CreditOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.util.FileUtils;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code strawless bench}: the job end to end, against the ceiling of the same machine. Every run gets fresh
 * topics and consumer groups under one prefix, so runs never see each other's records or offsets, and they are
 * deleted once its figures are taken.
 */
@Command(
        name = "bench",
        header = "Measure the job end to end against a raw Kafka passthrough: throughput, latency, CPU, state.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Preloads the synthetic fleet's records (steps, with outcomes, verifier signals and a few malformed"
                    + " records in the demo's ratios) into the in-process broker, or into the cluster named by"
                    + " -D kafka.bootstrap-servers (then no broker is started, and the bench deletes the rest of its"
                    + " topics and groups at the end). Each run's output topics and consumer group are deleted once"
                    + " its figures are taken. Then, on the same records, for each parallelism: (a) a passthrough with"
                    + " plain Kafka clients (read_committed consumers, transactional producers committing with the"
                    + " consumers' positions once per checkpoint interval, the job's partitions and client settings),"
                    + " and (b) the job with exactly-once checkpoints and sinks, from the earliest offsets. A run's"
                    + " rate and CPU time per step are those of its middle, from a tenth to nine tenths of the steps"
                    + " read: its end waits for a commit (up to a checkpoint interval), its start for the JIT"
                    + " compiler. A run ends when its"
                    + " output is committed (the passthrough's consumer group has committed every end offset; the"
                    + " job has completed a checkpoint that began after it read the last record).",
            "Then a live phase on fresh topics, with the job at the highest parallelism: the state of open"
                    + " trajectories (a savepoint before and after trajectories whose outcome never comes), and latency:"
                    + " a smaller fleet sends live, each record at its event time, and a read_committed consumer notes"
                    + " when the batch scoring each trajectory becomes visible, counted from its outcome's arrival.",
            "Reports steps/s, the ratio job/passthrough, process CPU time per step, latency p50/p99, state bytes per"
                    + " open trajectory and the kernel backend the batches name. The machine may be shared: compare the"
                    + " ratios and CPU time measured in one run, not wall-clock rates across runs.",
            "Checkpoint interval: -D execution.checkpointing.interval (default " + BenchCommand.DEFAULT_CHECKPOINTS
                    + "); checkpointing is always exactly-once. State: -D state.backend.type (default hashmap, the"
                    + " heap; the deployment manifests choose rocksdb). RocksDB lives in the task manager's managed"
                    + " memory: -D taskmanager.memory.managed.size (default " + BenchCommand.MANAGED_MEMORY_PER_SLOT_MB
                    + " MB per slot, as the Kubernetes manifest's task managers have it)."
        })
public final class BenchCommand implements Callable<Integer> {

    static final String DEFAULT_CHECKPOINTS = "2 s";
    private static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(2);
    /**
     * Managed memory per slot, as ops/deploy/flink-deployment.yaml's task managers have it (4096m of process memory,
     * of which Flink's defaults make 1,372 MB managed, for 2 slots). A local cluster has 128 MB in all, a test
     * default: RocksDB, which keeps its write buffers and block cache there, then flushed and compacted so often
     * that its background threads took a fifth of the CPU and the job ran about a quarter slower than with this.
     */
    static final int MANAGED_MEMORY_PER_SLOT_MB = 686;

    /**
     * The demo's fleet shape: ~7.5 steps per trajectory, outcomes, verdicts on a quarter, rare malformed records;
     * the agents of the live phase's open trajectories.
     */
    private static final int AGENTS = 100;

    private static final int TASKS = 60;
    private static final int GROUP_SIZE = 4;
    private static final int MIN_STEPS = 3;
    private static final int MAX_STEPS = 12;
    private static final double MALFORMED_SHARE = 0.005;
    private static final double MISSING_OUTCOME_SHARE = 0.03;
    private static final double VERDICT_SHARE = 0.25;
    /** An agent's trajectory takes about this long: steps 20-200 ms apart, then a pause of up to 500 ms. */
    private static final double SECONDS_PER_TRAJECTORY = (MIN_STEPS + MAX_STEPS) / 2.0 * 0.110 + 0.250;

    @Option(
            names = "--steps",
            paramLabel = "N",
            defaultValue = "500000",
            description = "Step events to preload, with their outcomes and verdicts (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(
            names = "--agents",
            paramLabel = "N",
            defaultValue = "100",
            description = "Agents whose trajectories make up the preloaded steps. Their trajectories interleave in"
                    + " event time: more agents, more trajectories open at once, and fewer inputs of one trajectory"
                    + " in one of the assembler's mini-batches (default: ${DEFAULT-VALUE}).")
    private int agents;

    @Option(
            names = "--tokens-per-step",
            paramLabel = "N",
            defaultValue = "0",
            description = "Token ids in each policy step of every fleet, for the sizes your agents send (an LLM's"
                    + " turn has hundreds); 0 for 4 to 16 at random. The passthrough copies tokens as bytes, the"
                    + " job decodes them and writes them into its batches (default: ${DEFAULT-VALUE}).")
    private int tokensPerStep;

    @Option(
            names = "--warmup-rounds",
            paramLabel = "N",
            defaultValue = "2",
            description = "Unmeasured rounds first: both contenders, at the highest parallelism, over the same"
                    + " records. The JIT compiler takes millions of records to settle on Flink's, Kafka's and Avro's"
                    + " code (here both contenders ran about 1.5 times as fast in the fourth round as in the first,"
                    + " with the JIT still a fifth of the CPU in the first); the progress lines show each round's"
                    + " rate and the JIT's share, so you see whether they have settled (default: ${DEFAULT-VALUE}).")
    private int warmupRounds;

    @Option(
            names = "--parallelism",
            split = ",",
            paramLabel = "P",
            defaultValue = "1,2",
            description = "Parallelisms to measure both contenders at (default: ${DEFAULT-VALUE}).")
    private List<Integer> parallelisms;

    @Option(
            names = "--rounds",
            paramLabel = "N",
            defaultValue = "1",
            description = "Rounds of measured runs: each round runs both contenders at every parallelism, and the"
                    + " report takes, per contender and parallelism, the run with the median rate. On a shared"
                    + " machine one run can be off by a third; 3 rounds give figures to compare (default:"
                    + " ${DEFAULT-VALUE}).")
    private int rounds;

    @Option(
            names = "--live-seconds",
            paramLabel = "S",
            defaultValue = "30",
            description = "Seconds of live traffic whose latency is measured; the fleet goes on a little longer so"
                    + " that the watermark passes the last measured trajectory (default: ${DEFAULT-VALUE}).")
    private int liveSeconds;

    @Option(
            names = "--live-agents",
            paramLabel = "N",
            defaultValue = "20",
            description = "Agents sending live; each sends about 7 steps/s (default: ${DEFAULT-VALUE}).")
    private int liveAgents;

    @Option(
            names = "--open-trajectories",
            paramLabel = "N",
            defaultValue = "1000",
            description = "Open trajectories whose state is measured (default: ${DEFAULT-VALUE}).")
    private int openTrajectories;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the fleets (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(
            names = "--profile",
            paramLabel = "FILE",
            description = "Record the last round's job runs with Java Flight Recorder into FILE-p<parallelism>.jfr and"
                    + " print their top frames. JFR keeps 64 frames of each stack unless the JVM runs with"
                    + " -XX:FlightRecorderOptions:stackdepth=256; Flink's stacks are deeper, so totals of outer methods"
                    + " come out low without it. Recorded runs are a little slower (about 5-20%% here; the recorder"
                    + " starts before the warm-up, whose JIT work its start redoes): take rates from a run"
                    + " without --profile; the report warns when its headline figures come from a recorded run.")
    private Path profile;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the figures as one JSON object to FILE.")
    private Path json;

    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (steps < 1
                || agents < 1
                || liveSeconds < 1
                || liveAgents < 1
                || openTrajectories < 1
                || parallelisms.stream().anyMatch(p -> p < 1)) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--steps, --agents, --parallelism, --live-seconds, --live-agents and"
                            + " --open-trajectories must be at least 1");
        }
        if (tokensPerStep < 0) {
            throw new ParameterException(spec.commandLine(), "--tokens-per-step must be at least 0 (0: 4 to 16 at random)");
        }
        if (rounds < 1) {
            throw new ParameterException(spec.commandLine(), "--rounds must be at least 1");
        }
        if (warmupRounds < 0) {
            throw new ParameterException(spec.commandLine(), "--warmup-rounds must be at least 0");
        }
        if (json != null) {
            OutputFiles.requireWritable(spec, "--json", json);
        }
        if (profile != null) {
            for (int p : parallelisms) {
                OutputFiles.requireWritable(spec, "--profile", profileFile(p));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        Progress progress = new Progress(out);
        double loadAverage = CpuWindow.loadAverage();
        Configuration conf = configuration.toConfiguration();
        if (!conf.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)) {
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, DEFAULT_CHECKPOINT_INTERVAL);
        }
        conf.set(KafkaOptions.STARTING_OFFSETS, StartingOffsets.EARLIEST);
        checkJobSettings(conf);

        boolean ownBroker = !conf.contains(KafkaOptions.BOOTSTRAP_SERVERS);
        EmbeddedKafka broker = null;
        if (ownBroker) {
            progress.line("starting the in-process Kafka broker");
            broker = EmbeddedKafka.start();
            conf.set(KafkaOptions.BOOTSTRAP_SERVERS, broker.bootstrapServers());
        }
        String prefix = "bench-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        Path workDir = Files.createTempDirectory("strawless-bench");
        Path savepoints = workDir.resolve("savepoints");
        LocalCheckpoints.defaultDirectory(conf, workDir.resolve("checkpoints"));
        try (BenchKafka kafka = new BenchKafka(conf)) {
            try {
                BenchReport report;
                progress.line("starting the local Flink cluster that runs every job of the bench");
                int slots = Collections.max(parallelisms);
                if (!conf.contains(TaskManagerOptions.MANAGED_MEMORY_SIZE)) {
                    conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE,
                            MemorySize.ofMebiBytes((long) MANAGED_MEMORY_PER_SLOT_MB * slots));
                }
                try (BenchCluster cluster = BenchCluster.start(conf, slots)) {
                    report = measure(cluster, conf, prefix, kafka, progress, out, loadAverage, savepoints, ownBroker);
                }
                report.print(out);
                if (json != null) {
                    report.writeJson(json);
                    out.println("Figures written to " + json);
                }
            } catch (Throwable failure) {
                // The bench's failure says what went wrong; failing to clean up after it (the broker gone, say) must
                // not replace it.
                if (!ownBroker) {
                    try {
                        kafka.deleteAll(prefix);
                    } catch (Exception cleanup) {
                        failure.addSuppressed(cleanup);
                    }
                }
                throw failure;
            }
            if (!ownBroker) {
                kafka.deleteAll(prefix);
            }
        } finally {
            FileUtils.deleteDirectoryQuietly(workDir.toFile());
            if (broker != null) {
                broker.close();
            }
        }
        out.flush();
        return 0;
    }

    /**
     * Records on the input topics of one prefix, read by each contender from the start: {@code steps} steps among the
     * {@code stepRecords} records of the steps topic.
     */
    private record Preloaded(Configuration conf, Map<TopicPartition, Long> ends, long steps, long stepRecords) {}

    private Preloaded preload(
            Configuration base, String inputPrefix, int stepCount, long fleetSeed, BenchKafka kafka, Progress progress)
            throws Exception {
        Configuration conf = withInputs(base, inputPrefix);
        provision(conf, inputTopics(conf));
        FleetSettings fleet = new FleetSettings(
                agents,
                TASKS,
                (int) Math.ceil(stepCount / ((MIN_STEPS + MAX_STEPS) / 2.0)),
                GROUP_SIZE,
                MIN_STEPS,
                MAX_STEPS,
                MALFORMED_SHARE,
                MISSING_OUTCOME_SHARE,
                VERDICT_SHARE,
                fleetSeed)
                .withTokensPerStep(tokensPerStep);
        FleetScript script = FleetScript.generate(fleet, Instant.now());
        progress.line(
                "preloading %,d records (%,d steps) into %s.*",
                script.records().size(), script.recordsOn(InputTopic.STEPS), inputPrefix);
        new SyntheticFleet(conf).send(script);
        Map<TopicPartition, Long> ends = kafka.endOffsets(kafka.partitions(inputTopics(conf)));
        long stepRecords = ends.entrySet().stream()
                .filter(e -> e.getKey().topic().equals(InputTopic.STEPS.name(conf)))
                .mapToLong(Map.Entry::getValue)
                .sum();
        // The malformed siblings on the steps topic are records, not steps: the job dead-letters them.
        long malformedSteps = script.ledger().malformed().stream().filter(m -> m.topic() == InputTopic.STEPS).count();
        return new Preloaded(conf, ends, stepRecords - malformedSteps, stepRecords);
    }

    private Throughput passthrough(
            Preloaded input, String prefix, String run, int p, BenchKafka kafka, Progress progress) throws Exception {
        Configuration conf = forRun(input.conf(), prefix, run, p);
        String output = conf.get(KafkaOptions.BATCHES_TOPIC);
        // As the job's batches topic: the contenders write to alike topics.
        provision(conf, List.of(output));
        progress.line("%s: copying to %s", run, output);
        Throughput pass = new Passthrough(
                        conf,
                        conf.get(KafkaOptions.GROUP_ID),
                        output,
                        conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL))
                .run(p, input.ends(), input.steps(), input.stepRecords(), kafka, progress);
        progress.line(
                "%s: %,.0f steps/s, %.1f us CPU per step; CPU by thread:%s",
                run, pass.stepsPerSecond(), pass.cpuMicrosPerStep(), pass.describeThreads());
        kafka.deleteRun(List.of(output), conf.get(KafkaOptions.GROUP_ID));
        return pass;
    }

    private JobThroughput.Result job(
            BenchCluster cluster,
            Preloaded input,
            String prefix,
            String run,
            int p,
            BenchKafka kafka,
            Progress progress,
            Path profileFile,
            PrintWriter out)
            throws Exception {
        Configuration conf = forRun(input.conf(), prefix, run, p);
        provision(conf);
        progress.line("%s: starting", run);
        JobThroughput.Result result = JobThroughput.run(
                cluster, conf, p, input.ends(), input.steps(), input.stepRecords(), progress, profileFile, out);
        progress.line(
                "%s: %,.0f steps/s, %.1f us CPU per step; CPU by thread:%s",
                run,
                result.throughput().stepsPerSecond(),
                result.throughput().cpuMicrosPerStep(),
                result.throughput().describeThreads());
        kafka.deleteRun(KafkaOptions.outputTopics(conf), conf.get(KafkaOptions.GROUP_ID));
        return result;
    }

    private BenchReport measure(
            BenchCluster cluster,
            Configuration base,
            String prefix,
            BenchKafka kafka,
            Progress progress,
            PrintWriter out,
            double loadAverage,
            Path savepoints,
            boolean inProcessBroker)
            throws Exception {
        Duration checkpoints = base.get(CheckpointingOptions.CHECKPOINTING_INTERVAL);
        int highest = Collections.max(parallelisms);
        Preloaded input = preload(base, prefix, steps, seed, kafka, progress);
        if (profile != null) {
            Profile.startRecorder();
        }
        for (int round = 1; round <= warmupRounds; round++) {
            // Without these the first runs pay for compiling, and their CPU per step says more about the JIT
            // compiler than about the code.
            passthrough(input, prefix, "warm-up-" + round + "-passthrough-p" + highest, highest, kafka, progress);
            job(cluster, input, prefix, "warm-up-" + round + "-job-p" + highest, highest, kafka, progress, null, out);
        }

        List<List<Throughput>> passthroughRuns = new ArrayList<>();
        List<List<Throughput>> jobRuns = new ArrayList<>();
        for (int i = 0; i < parallelisms.size(); i++) {
            passthroughRuns.add(new ArrayList<>());
            jobRuns.add(new ArrayList<>());
        }
        List<Profile.Summary> profiles = new ArrayList<>();
        // Contenders take turns, so that a change in the machine's load over the run hits both alike, and swap
        // places every round, so that neither always runs right after the other (in a JVM the other just warmed,
        // among the garbage it left).
        for (int round = 1; round <= rounds; round++) {
            String suffix = rounds == 1 ? "" : "-r" + round;
            boolean jobFirst = round % 2 == 0;
            for (int i = 0; i < parallelisms.size(); i++) {
                int p = parallelisms.get(i);
                if (!jobFirst) {
                    passthroughRuns.get(i).add(
                            passthrough(input, prefix, "passthrough-p" + p + suffix, p, kafka, progress));
                }
                // One profile per parallelism: the last round's.
                Path profileFile = profile == null || round < rounds ? null : profileFile(p);
                JobThroughput.Result result =
                        job(cluster, input, prefix, "job-p" + p + suffix, p, kafka, progress, profileFile, out);
                jobRuns.get(i).add(result.throughput());
                if (result.profile() != null) {
                    profiles.add(result.profile());
                }
                if (jobFirst) {
                    passthroughRuns.get(i).add(
                            passthrough(input, prefix, "passthrough-p" + p + suffix, p, kafka, progress));
                }
            }
        }
        List<Throughput> passthrough =
                passthroughRuns.stream().map(BenchCommand::median).toList();
        List<Throughput> job = jobRuns.stream().map(BenchCommand::median).toList();

        Live live = live(cluster, base, prefix, highest, checkpoints, kafka, progress, savepoints);
        return BenchReport.of(
                Runtime.getRuntime().availableProcessors(),
                loadAverage,
                inProcessBroker,
                base.get(StateBackendOptions.STATE_BACKEND),
                base.get(TaskManagerOptions.MANAGED_MEMORY_SIZE).getMebiBytes() / highest,
                MiniBatchAssembler.size(base, base.get(StateBackendOptions.STATE_BACKEND).equalsIgnoreCase("hashmap")),
                checkpoints.toMillis(),
                rounds,
                base.get(CreditOptions.ESTIMATOR).toString(),
                agents,
                tokensPerStep,
                input.ends().size(),
                passthrough,
                job,
                live.latency(),
                live.stateBytes(),
                openTrajectories,
                profiles);
    }

    /** Where --profile records the job at parallelism {@code p}. */
    private Path profileFile(int p) {
        return Path.of(profile + "-p" + p + ".jfr");
    }

    /** The run with the median rate (of an even number, the slower of the two in the middle). */
    private static Throughput median(List<Throughput> runs) {
        List<Throughput> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingDouble(Throughput::stepsPerSecond));
        return sorted.get((sorted.size() - 1) / 2);
    }

    /** What the live phase measured. */
    private record Live(double stateBytes, LatencyProbe.Latency latency) {}

    /** The job on fresh topics: first the state of open trajectories, then latency under live traffic. */
    private Live live(
            BenchCluster cluster,
            Configuration base,
            String prefix,
            int parallelism,
            Duration checkpoints,
            BenchKafka kafka,
            Progress progress,
            Path savepoints)
            throws Exception {
        Configuration conf = forRun(withInputs(base, prefix + ".live"), prefix, "live", parallelism);
        provision(conf);
        List<TopicPartition> inputs = kafka.partitions(inputTopics(conf));
        List<TopicPartition> batchPartitions = kafka.partitions(List.of(conf.get(KafkaOptions.BATCHES_TOPIC)));
        progress.line("live phase: starting the job (parallelism %d)", parallelism);
        try (JobRun job = JobRun.start(cluster, conf)) {
            FleetSettings open = new FleetSettings(
                    AGENTS, TASKS, openTrajectories, GROUP_SIZE, MIN_STEPS, MAX_STEPS, 0, 1, VERDICT_SHARE, seed + 1)
                    .withTokensPerStep(tokensPerStep);
            progress.line("live phase: %,d trajectories whose outcome never comes, for their state", openTrajectories);
            double stateBytes =
                    OpenTrajectoryState.bytesPerTrajectory(job, conf, open, inputs, kafka, savepoints, progress);
            progress.line("live phase: %,.0f bytes of state per open trajectory", stateBytes);

            Duration tail = base.get(JobOptions.MAX_OUT_OF_ORDERNESS)
                    .plus(base.get(JobOptions.BATCH_MAX_LATENCY))
                    .plus(checkpoints)
                    .multipliedBy(2);
            int trajectories = (int) Math.ceil(liveAgents * (liveSeconds + tail.toSeconds()) / SECONDS_PER_TRAJECTORY);
            FleetSettings fleet = new FleetSettings(
                    liveAgents, TASKS, trajectories, GROUP_SIZE, MIN_STEPS, MAX_STEPS, 0, 0, VERDICT_SHARE, seed + 2)
                    .withTokensPerStep(tokensPerStep);
            FleetScript script = LatencyProbe.startingAt(fleet, System.currentTimeMillis() + 1_000);
            progress.line(
                    "live phase: %,d agents send %,d trajectories over %.0f s; latency of those whose outcome"
                            + " comes %d s before the end",
                    liveAgents, trajectories, seconds(script), tail.toSeconds());
            LatencyProbe.Latency latency = new LatencyProbe(conf).measure(script, tail, batchPartitions, progress);
            job.failIfEnded();
            return new Live(stateBytes, latency);
        }
    }

    /** {@code conf} with the three input topics named under {@code prefix}. */
    private static Configuration withInputs(Configuration conf, String prefix) {
        Configuration named = new Configuration(conf);
        named.set(KafkaOptions.STEPS_TOPIC, prefix + ".agent.steps");
        named.set(KafkaOptions.OUTCOMES_TOPIC, prefix + ".agent.outcomes");
        named.set(KafkaOptions.VERDICTS_TOPIC, prefix + ".agent.verdicts");
        return named;
    }

    /**
     * Settings the job refuses fail here, as usage errors naming the key, before a broker starts and records are
     * preloaded: else only the first job run, after the preload and the first passthrough run, would tell.
     */
    private void checkJobSettings(Configuration conf) {
        if (conf.contains(CoreOptions.DEFAULT_PARALLELISM)) {
            // forRun sets it for every run: the -D value would be ignored without a word.
            throw new ParameterException(spec.commandLine(), "-D " + CoreOptions.DEFAULT_PARALLELISM.key()
                    + ": the bench runs both contenders at each --parallelism; set that instead (e.g. --parallelism "
                    + conf.get(CoreOptions.DEFAULT_PARALLELISM) + ")");
        }
        try {
            // The job's progress (records read, checkpoints, restarts) reaches the bench only through that reporter:
            // without it the first run would wait for a first record that is never counted.
            JobMetrics.requireReported(conf);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "-D " + e.getMessage());
        }
        int maxTokens = conf.get(JobOptions.MAX_TOKENS_PER_STEP);
        if (tokensPerStep > maxTokens) {
            // Every policy step would be a dead letter (OVERSIZED_PAYLOAD): the job's figures would be the dead
            // letters' path, and no batch would come.
            throw new ParameterException(spec.commandLine(), "--tokens-per-step " + tokensPerStep + " exceeds "
                    + JobOptions.MAX_TOKENS_PER_STEP.key() + " (" + maxTokens + "), so the job would dead-letter every"
                    + " policy step: lower it, or raise the key with -D");
        }
        Configuration run = forRun(conf, "bench-check", "check", Collections.max(parallelisms));
        try {
            StrawlessJob.checkSettings(run);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "-D " + e.getMessage(), e);
        }
    }

    /** {@code conf} with this run's own output topics, consumer group, transactional ids and parallelism. */
    private static Configuration forRun(Configuration conf, String prefix, String run, int parallelism) {
        Configuration named = new Configuration(conf);
        named.set(KafkaOptions.BATCHES_TOPIC, prefix + "." + run + ".credit.batches");
        named.set(KafkaOptions.DEAD_LETTERS_TOPIC, prefix + "." + run + ".credit.dlq");
        named.set(KafkaOptions.UNSCORED_TOPIC, prefix + "." + run + ".credit.unscored");
        named.set(KafkaOptions.GROUP_ID, prefix + "-" + run);
        named.set(KafkaOptions.TRANSACTIONAL_ID_PREFIX, prefix + "-" + run);
        named.set(CoreOptions.DEFAULT_PARALLELISM, parallelism);
        named.set(JobOptions.JOB_NAME, "strawless bench " + run);
        return named;
    }

    private static void provision(Configuration conf) {
        provision(conf, TopicProvisioner.topicNames(conf));
    }

    /**
     * Creates {@code topics} as the job's provisioner does, which then checks them on every run against
     * {@code topics.*}: a topic made with the cluster's defaults (retention.ms, min.insync.replicas) would be DRIFT.
     */
    private static void provision(Configuration conf, List<String> topics) {
        for (TopicStatus status : TopicProvisioner.ensureTopics(conf, topics)) {
            if (status.state() == TopicStatus.State.DRIFT || status.state() == TopicStatus.State.MISSING) {
                throw new IllegalStateException(
                        "topic " + status.topic() + ": " + status.state() + " " + status.detail());
            }
        }
    }

    private static List<String> inputTopics(Configuration conf) {
        List<String> topics = new ArrayList<>();
        for (InputTopic topic : InputTopic.values()) {
            topics.add(topic.name(conf));
        }
        return topics;
    }

    private static double seconds(FleetScript script) {
        List<FleetRecord> records = script.records();
        return (records.get(records.size() - 1).timestamp() - records.get(0).timestamp()) / 1000.0;
    }
}
