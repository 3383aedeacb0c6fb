package io.strawless.ops.demo;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.ops.ConfigurationOptions;
import io.strawless.ops.OutputFiles;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code strawless demo}: the whole system on one machine, from agents' events to a trainer's batches. */
@Command(
        name = "demo",
        header = "Run the whole system on this machine and check that every input record is accounted for.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Starts an in-process Kafka broker, creates the topics, runs the Strawless job on a local Flink"
                    + " MiniCluster, lets a synthetic agent fleet send steps, outcomes and verifier signals (with some"
                    + " malformed records and some outcomes that never come), stops the job with a draining savepoint,"
                    + " reads the output topics as a trainer would (read_committed) and checks that every input record"
                    + " is accounted for. -D kafka.bootstrap-servers is refused: the demo always uses its own broker.",
            "With --inject-failures or --savepoint-resume it is an exactly-once drill: it also prints how many scored"
                    + " steps were lost, duplicated or got another advantage than the oracle's.",
            "Exit code 0 when the counts reconcile, the job's own books agree with the broker (and the drill finds no"
                    + " difference), 1 when they do not (or the run fails), 2 for bad usage."
        })
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--agents", defaultValue = "100", description = "Agents in the fleet (default: ${DEFAULT-VALUE}).")
    private int agents;

    @Option(
            names = "--trajectories",
            defaultValue = "16000",
            description = "Trajectories in the whole run: the run length (default: ${DEFAULT-VALUE}).")
    private int trajectories;

    @Option(names = "--tasks", defaultValue = "60", description = "Distinct tasks (default: ${DEFAULT-VALUE}).")
    private int tasks;

    @Option(
            names = "--group-size",
            defaultValue = "4",
            description = "Trajectories per sampling of a task (default: ${DEFAULT-VALUE}).")
    private int groupSize;

    @Option(
            names = "--min-steps",
            defaultValue = "3",
            description = "Fewest steps per trajectory (default: ${DEFAULT-VALUE}).")
    private int minSteps;

    @Option(
            names = "--max-steps",
            defaultValue = "12",
            description = "Most steps per trajectory (default: ${DEFAULT-VALUE}).")
    private int maxSteps;

    @Option(
            names = "--malformed-share",
            defaultValue = "0.005",
            description = "Chance that a record is followed by a malformed one (default: ${DEFAULT-VALUE}).")
    private double malformedShare;

    @Option(
            names = "--missing-outcome-share",
            defaultValue = "0.03",
            description = "Chance that a trajectory's outcome never comes (default: ${DEFAULT-VALUE}).")
    private double missingOutcomeShare;

    @Option(
            names = "--verdict-share",
            defaultValue = "0.25",
            description = "Chance that a trajectory gets verifier signals (default: ${DEFAULT-VALUE}).")
    private double verdictShare;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the fleet (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(
            names = "--parallelism",
            paramLabel = "N",
            description = "Parallelism of the job. Default: -D parallelism.default where given, else 2; where both"
                    + " are given, this flag wins.")
    private Integer parallelism;

    @Option(
            names = "--inject-failures",
            paramLabel = "N",
            defaultValue = "0",
            description = "Exactly-once drill: fail the job's tasks N times in the first half of the input; the restart"
                    + " strategy (fixed-delay unless set with -D) restores the last checkpoint each time. The job then scores"
                    + " with grpo, and the committed batches are checked step by step against an oracle computed from what"
                    + " the fleet sent; a -D setting the oracle does not model (credit.*, timeouts, job.partial-groups...)"
                    + " is refused (default: ${DEFAULT-VALUE}).")
    private int injectFailures;

    @Option(
            names = "--savepoint-resume",
            description = "Exactly-once drill: the fleet sends half its records; once the job has processed and"
                    + " checkpointed them (and the injected failures are done), stop it with a savepoint without"
                    + " draining, send the second half while it is down, and resume a new job from the savepoint."
                    + " Checked like --inject-failures.")
    private boolean savepointResume;

    @Option(
            names = "--keep-broker",
            description =
                    "After the summary, keep the in-process broker and its topics up until Ctrl-C, and print the"
                            + " commands that read them: a backfill of the demo's input with another estimator, the Python trainer.")
    private boolean keepBroker;

    @Option(
            names = "--json",
            paramLabel = "FILE",
            description =
                    "Also write the summary as one JSON object to FILE; '-' prints it to stdout after the summary.")
    private String json;

    /** kafka.bootstrap-servers is always the in-process broker's. */
    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        FleetSettings fleet = fleetSettings();
        if (json != null && !json.equals("-")) {
            OutputFiles.requireWritable(spec, "--json", Path.of(json));
        }
        PrintWriter out = spec.commandLine().getOut();
        Instant start = Instant.now();
        DemoRun.Faults faults = faults();
        DemoRun.Result result;
        Configuration conf = configuration.toConfiguration();
        ConfigurationOptions.refuseOwnSetting(spec, conf, KafkaOptions.BOOTSTRAP_SERVERS, "the demo runs on a broker of its"
                + " own; to measure the job on yours use 'strawless bench -D " + KafkaOptions.BOOTSTRAP_SERVERS.key()
                + "=...', to run it there deploy it (README, Deploy)");
        ConfigurationOptions.refuseOwnSetting(spec, conf, JobOptions.INJECT_FAILURES,
                "use --inject-failures N, which also checks that the job restarted N times and that its committed"
                        + " batches match an oracle's");
        // For the commands --keep-broker prints, as given: before the demo adds its own settings.
        Map<String, String> given = conf.toMap();
        int parallelism = ConfigurationOptions.parallelism(spec, this.parallelism, conf, 2);
        if (faults.any()) {
            useOracle(conf);
        }
        try {
            DemoRun.checkJobSettings(conf, faults); // before the broker starts
            // The demo shows the job's books and counts its restarts through that reporter (evaluate reads neither).
            JobMetrics.requireReported(conf);
            Reconciliation.requireBalanceable(conf);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value: -D " + e.getMessage(), e);
        }
        out.println("Starting the in-process Kafka broker...");
        out.flush();
        DemoSummary summary;
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            out.printf(
                    "Kafka broker ready at %s (%.1f s)%n",
                    kafka.bootstrapServers(),
                    Duration.between(start, Instant.now()).toMillis() / 1000.0);
            conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(CoreOptions.DEFAULT_PARALLELISM, parallelism);
            FleetScript script = FleetScript.generate(fleet, Instant.now());
            result = DemoRun.run(conf, script, faults, line -> {
                out.println(line);
                out.flush();
            });
            summary = DemoSummary.of(result, fleet, parallelism, Duration.between(start, Instant.now()), conf);
            summary.print(out);
            writeJson(summary, out);
            if (keepBroker) {
                keepServing(kafka, script, given, out);
            }
        }
        return summary.passed() ? 0 : 1;
    }

    /** Blocks until the JVM is told to stop (Ctrl-C), then closes the broker (which deletes its data). */
    private static void keepServing(EmbeddedKafka kafka, FleetScript script, Map<String, String> given,
            PrintWriter out) throws InterruptedException, IOException {
        out.print(followUpCommands(kafka.bootstrapServers(), script, given));
        out.flush();
        CountDownLatch stopping = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            stopping.countDown();
                            try {
                                closed.await(30, TimeUnit.SECONDS); // the JVM would not wait for this thread otherwise
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "demo-broker-shutdown"));
        stopping.await();
        out.println("Stopping the broker.");
        out.flush();
        try {
            kafka.close();
        } finally {
            closed.countDown();
        }
    }

    /**
     * The commands that read the kept broker: a backfill of the fleet's whole timeline with the run's {@code -D}
     * settings (its topic names among them), and the Python trainer on the backfill's output, which reads nothing
     * else of the run's settings (and refuses keys it does not know). {@code kafka.client.*} values are not printed,
     * as nowhere else: they may hold credentials; a line says to add them.
     *
     * @param given the {@code -D} settings the demo was given
     */
    static String followUpCommands(String bootstrapServers, FleetScript script, Map<String, String> given) {
        long first = script.records().stream()
                .mapToLong(FleetRecord::timestamp)
                .min()
                .orElse(0);
        long last = script.records().stream()
                .mapToLong(FleetRecord::timestamp)
                .max()
                .orElse(0);
        String continued = " \\" + System.lineSeparator() + "      ";
        StringBuilder backfill = new StringBuilder(
                "  ops/strawless backfill -D kafka.bootstrap-servers=%s --from %s --to %s".formatted(
                        bootstrapServers, Instant.ofEpochMilli(first), Instant.ofEpochMilli(last + 1)))
                .append(continued).append("--estimator rloo --output-topic credit.batches.rloo");
        boolean clientSettingsLeftOut = false;
        for (Map.Entry<String, String> setting : given.entrySet()) {
            if (setting.getKey().startsWith(KafkaOptions.CLIENT_PREFIX)) {
                clientSettingsLeftOut = true;
            } else {
                backfill.append(continued).append("-D ").append(shellWord(setting.getKey() + "=" + setting.getValue()));
            }
        }
        StringBuilder commands = new StringBuilder()
                .append("%nThe broker stays up at %s with the demo's topics until Ctrl-C. In another terminal:%n"
                        .formatted(bootstrapServers))
                .append(backfill).append(System.lineSeparator());
        if (clientSettingsLeftOut) {
            commands.append("    (and the run's -D %s* settings, left out here: they may hold credentials)%n"
                    .formatted(KafkaOptions.CLIENT_PREFIX));
        }
        return commands.append("  /usr/bin/python3 ops/python/strawless_trainer.py -D kafka.bootstrap-servers=%s"
                        .formatted(bootstrapServers))
                .append(continued).append("-D topics.batches=credit.batches.rloo -D trainer.group-id=rloo-trainer"
                        + " --timeout 30").append(System.lineSeparator())
                .toString();
    }

    /** {@code word} as one shell word: as it is where it holds no character the shell reads, else single-quoted. */
    private static String shellWord(String word) {
        return word.matches("[A-Za-z0-9_.,:/=@%+-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    private DemoRun.Faults faults() {
        if (injectFailures < 0) {
            throw new ParameterException(
                    spec.commandLine(), "--inject-failures must be at least 0, was " + injectFailures);
        }
        return new DemoRun.Faults(injectFailures, savepointResume);
    }

    /**
     * A drill is checked against an oracle that models the job with grpo and otherwise its defaults: settings that
     * would change which trajectories reach a batch, or their numbers, are refused rather than reported as
     * differences after the run. The backend may be chosen: all give the same numbers.
     */
    private void useOracle(Configuration conf) {
        try {
            ExactlyOnceCheck.requireModelled(conf);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for the exactly-once drill"
                    + " (--inject-failures, --savepoint-resume): " + e.getMessage(), e);
        }
        ExactlyOnceCheck.configureOracleCredit(conf);
    }

    private FleetSettings fleetSettings() {
        try {
            return new FleetSettings(
                    agents,
                    tasks,
                    trajectories,
                    groupSize,
                    minSteps,
                    maxSteps,
                    malformedShare,
                    missingOutcomeShare,
                    verdictShare,
                    seed);
        } catch (IllegalArgumentException e) {
            // FleetSettings names each setting the way the flag does.
            throw new ParameterException(spec.commandLine(), "Invalid value: --" + e.getMessage());
        }
    }

    private void writeJson(DemoSummary summary, PrintWriter out) throws IOException {
        if (json == null) {
            return;
        }
        if (json.equals("-")) {
            out.println(summary.toJson());
            out.flush();
        } else {
            Files.writeString(Path.of(json), summary.toJson() + System.lineSeparator(), StandardCharsets.UTF_8);
            out.println("Summary written to " + json);
        }
    }
}
