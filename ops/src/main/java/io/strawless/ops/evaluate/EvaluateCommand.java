package io.strawless.ops.evaluate;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.ops.ConfigurationOptions;
import io.strawless.ops.OutputFiles;
import io.strawless.ops.demo.DemoRun;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.FleetSettings.VerifierProfile;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code strawless evaluate}: what per-step credit buys over the straw, measured against a fleet's hidden truth. */
@Command(
        name = "evaluate",
        header = "Grade each credit estimator against the hidden step quality of a synthetic fleet.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Generates a synthetic fleet whose steps have a hidden quality (good or bad): success depends on the share"
                    + " of good steps, with noise; verifiers judge steps with their own accuracy, bias, coverage and delay;"
                    + " some trajectories hack their reward (they succeed although nearly all their steps are bad). The"
                    + " truth stays with the evaluator: the job sees only the records. For each estimator the fleet runs"
                    + " through the real job (in-process Kafka broker, Flink MiniCluster, as in 'strawless demo'), and the"
                    + " committed batches are graded: step-level AUC of the advantages against step quality (over the"
                    + " policy steps of trajectories with a weight above 0: a flagged suspect's teach nothing), the verifier"
                    + " reliabilities the job learnt online against the true ones, and the quarantine's precision and recall"
                    + " on the reward hacks.",
            "The job learns verifier reliabilities per batching bucket, one per parallel instance, each from the"
                    + " tasks of its own: the final model of every bucket (the reliabilities in its last batch) is"
                    + " graded, and a verifier's error is that of the bucket furthest from the truth. The quarantine's"
                    + " recall counts the reward hacks it could judge, those with an outcome and at least one verdict;"
                    + " the others (see --verdict-share) are reported apart.",
            "Unless set with -D, the job runs with credit.gamma=0, so that a step's credit is its own and not the"
                    + " return of the steps after it, and credit.backend=java (every backend gives the same numbers)."
        })
public final class EvaluateCommand implements Callable<Integer> {

    /** The default panel: two good verifiers, an unreliable one, and one that always says good. */
    static final String DEFAULT_VERIFIERS =
            "checker:0.95:0:0.9:100,prm:0.85:0.05:0.8:150,rater:0.6:0:0.8:200,stamp:0.5:0.5:0.6:50";

    @Option(
            names = "--estimators",
            split = ",",
            defaultValue = "outcome,grpo,process,gigpo",
            description = "Estimators to run, comma separated (default: ${DEFAULT-VALUE}): any of"
                    + " ${COMPLETION-CANDIDATES} but gae, which needs a critic's values that the fleet does not send.")
    private List<Estimator> estimators;

    @Option(
            names = "--trajectories",
            defaultValue = "1000",
            description = "Trajectories in the fleet's run (default: ${DEFAULT-VALUE}).")
    private int trajectories;

    @Option(names = "--agents", defaultValue = "40", description = "Agents in the fleet (default: ${DEFAULT-VALUE}).")
    private int agents;

    @Option(names = "--tasks", defaultValue = "25", description = "Distinct tasks (default: ${DEFAULT-VALUE}).")
    private int tasks;

    @Option(
            names = "--group-size",
            defaultValue = "4",
            description = "Trajectories per sampling of a task (default: ${DEFAULT-VALUE}).")
    private int groupSize;

    @Option(
            names = "--min-steps",
            defaultValue = "4",
            description = "Fewest steps per trajectory (default: ${DEFAULT-VALUE}).")
    private int minSteps;

    @Option(
            names = "--max-steps",
            defaultValue = "14",
            description = "Most steps per trajectory (default: ${DEFAULT-VALUE}).")
    private int maxSteps;

    @Option(
            names = "--verifiers",
            defaultValue = DEFAULT_VERIFIERS,
            paramLabel = "ID:ACCURACY:BIAS:COVERAGE:DELAY_MS,...",
            description =
                    "The verifier panel. A verifier calls a good step good with probability accuracy + bias and a bad"
                            + " step bad with accuracy - bias, judges each policy step with probability coverage, and its verdict comes"
                            + " up to twice delay-ms after the step (default: ${DEFAULT-VALUE}).")
    private String verifiers;

    @Option(
            names = "--verdict-share",
            defaultValue = "1.0",
            description = "Chance that a trajectory is put before the verifiers (default: ${DEFAULT-VALUE}).")
    private double verdictShare;

    @Option(
            names = "--outcome-noise",
            defaultValue = "0.1",
            description = "Noise on the share of good steps that decides success (default: ${DEFAULT-VALUE}).")
    private double outcomeNoise;

    @Option(
            names = "--reward-hack-share",
            defaultValue = "0.08",
            description = "Chance that a trajectory hacks its reward (default: ${DEFAULT-VALUE}).")
    private double rewardHackShare;

    @Option(
            names = "--missing-outcome-share",
            defaultValue = "0.0",
            description = "Chance that a trajectory's outcome never comes (default: ${DEFAULT-VALUE}).")
    private double missingOutcomeShare;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the fleet (default: ${DEFAULT-VALUE}).")
    private long seed;

    /** The job's parallelism where neither --parallelism nor -D parallelism.default gives one. */
    static final int DEFAULT_PARALLELISM = 2;

    @Option(
            names = "--parallelism",
            paramLabel = "N",
            description = "Parallelism of the job. Default: -D parallelism.default where given, else "
                    + DEFAULT_PARALLELISM + "; where both are given, this flag wins.")
    private Integer parallelism;

    @Option(
            names = "--json",
            paramLabel = "FILE",
            description = "Also write the results as one JSON object to FILE; '-' prints it to stdout after the table."
                    + " It records the fleet's flags, every -D setting given (kafka.client.* and other secret-looking"
                    + " values hidden) and each run's config_fingerprint.")
    private String json;

    /** kafka.bootstrap-servers is always the in-process broker's; topic names get a prefix per run. */
    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        FleetSettings fleet = fleetSettings();
        Set<Estimator> seen = new HashSet<>();
        for (Estimator estimator : estimators) {
            if (!seen.add(estimator)) {
                // Each estimator's run has topics of its own, named after it: a second run would read the first's too.
                throw new ParameterException(
                        spec.commandLine(), "Invalid value: --estimators: '" + estimator + "' is named twice");
            }
            if (estimator == Estimator.GAE) {
                // The job would unscore every trajectory, and the run would end with nothing to grade.
                throw new ParameterException(spec.commandLine(), "Invalid value: --estimators: '" + estimator
                        + "' needs each trainable step's value (a critic's V(s)), which the evaluation's fleet does not"
                        + " send: leave it out of --estimators");
            }
        }
        if (json != null && !json.equals("-")) {
            OutputFiles.requireWritable(spec, "--json", Path.of(json));
        }
        Configuration given = configuration.toConfiguration();
        Configuration base = jobConfiguration(given);
        // Checked before the broker starts, for each estimator: some settings hold for some estimators only.
        for (Estimator estimator : estimators) {
            try {
                DemoRun.checkJobSettings(runConfiguration(base, estimator), DemoRun.Faults.NONE);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "Invalid value: -D " + e.getMessage(), e);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        Instant start = Instant.now();
        out.println("Starting the in-process Kafka broker...");
        out.flush();
        List<Evaluation> runs = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            base.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            for (int i = 0; i < estimators.size(); i++) {
                Estimator estimator = estimators.get(i);
                out.printf(
                        Locale.ROOT,
                        "[%6.1fs] %-8s (%d/%d) running the fleet through the job%n",
                        seconds(start),
                        estimator,
                        i + 1,
                        estimators.size());
                out.flush();
                Instant runStart = Instant.now();
                // The run's own progress, indented under its estimator: a run takes a while, or stalls.
                DemoRun.Result result = DemoRun.run(runConfiguration(base, estimator), fleet, line -> {
                    out.println("          " + line);
                    out.flush();
                });
                Evaluation run = Evaluation.of(
                        estimator,
                        result.script().ledger(),
                        result.output(),
                        base.get(CoreOptions.DEFAULT_PARALLELISM),
                        Duration.between(runStart, Instant.now()));
                runs.add(run);
                out.printf(
                        Locale.ROOT,
                        "[%6.1fs] %-8s (%d/%d) step AUC %s (%.1f s, batches %s)%n",
                        seconds(start),
                        estimator,
                        i + 1,
                        estimators.size(),
                        Double.isFinite(run.stepAuc()) ? String.format(Locale.ROOT, "%.3f", run.stepAuc()) : "n/a",
                        run.duration().toMillis() / 1000.0,
                        run.configFingerprint() == null ? "none" : run.configFingerprint());
                out.flush();
            }
        }
        EvaluationReport report = new EvaluationReport(fleet, jobSettings(base, given), runs);
        report.print(out);
        writeJson(report, out);
        return 0;
    }

    private FleetSettings fleetSettings() {
        try {
            List<VerifierProfile> panel = VerifierProfile.parseAll(verifiers);
            return new FleetSettings(
                    agents,
                    tasks,
                    trajectories,
                    groupSize,
                    minSteps,
                    maxSteps,
                    0.0,
                    missingOutcomeShare,
                    verdictShare,
                    seed,
                    outcomeNoise,
                    rewardHackShare,
                    panel);
        } catch (IllegalArgumentException e) {
            // FleetSettings names each setting the way the flag does.
            throw new ParameterException(spec.commandLine(), "Invalid value: --" + e.getMessage());
        }
    }

    /** The -D settings {@code given}, with the evaluation's defaults where they are not set. */
    private Configuration jobConfiguration(Configuration given) {
        Configuration conf = new Configuration(given);
        ConfigurationOptions.refuseOwnSetting(spec, conf, KafkaOptions.BOOTSTRAP_SERVERS,
                "the evaluation runs on a broker of its own");
        ConfigurationOptions.refuseOwnSetting(spec, conf, CreditOptions.ESTIMATOR,
                "it runs each estimator of --estimators");
        ConfigurationOptions.refuseOwnSetting(spec, conf, JobOptions.INJECT_FAILURES,
                "an evaluation runs without failures; for a drill, 'strawless demo --inject-failures N'");
        if (!conf.contains(CreditOptions.GAMMA)) {
            conf.set(CreditOptions.GAMMA, 0.0);
        }
        if (!conf.contains(CreditOptions.BACKEND)) {
            conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        }
        conf.set(CoreOptions.DEFAULT_PARALLELISM,
                ConfigurationOptions.parallelism(spec, parallelism, conf, DEFAULT_PARALLELISM));
        return conf;
    }

    /** Each run on topics, consumer group and transactional ids of its own, so runs cannot see each other. */
    private static Configuration runConfiguration(Configuration base, Estimator estimator) {
        Configuration conf = new Configuration(base);
        String prefix = "evaluate-" + estimator + ".";
        for (ConfigOption<String> name : List.of(
                KafkaOptions.STEPS_TOPIC,
                KafkaOptions.OUTCOMES_TOPIC,
                KafkaOptions.VERDICTS_TOPIC,
                KafkaOptions.BATCHES_TOPIC,
                KafkaOptions.DEAD_LETTERS_TOPIC,
                KafkaOptions.UNSCORED_TOPIC,
                KafkaOptions.GROUP_ID,
                KafkaOptions.TRANSACTIONAL_ID_PREFIX)) {
            conf.set(name, prefix + base.get(name));
        }
        conf.set(CreditOptions.ESTIMATOR, estimator);
        return conf;
    }

    /**
     * The settings the figures depend on most, as the job resolved them, then every other -D setting {@code given}, by
     * key: any of them may change the figures (credit.process-coef, quarantine.*, ...), and a report must tell its
     * run apart from others.
     */
    static Map<String, String> jobSettings(Configuration conf, Configuration given) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put(CoreOptions.DEFAULT_PARALLELISM.key(), String.valueOf(conf.get(CoreOptions.DEFAULT_PARALLELISM)));
        for (ConfigOption<?> option : List.of(
                CreditOptions.GAMMA,
                CreditOptions.PROCESS_BASELINE,
                ReliabilityOptions.WEIGHT_VERIFIERS,
                ReliabilityOptions.SUSPECT_POLICY,
                ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS,
                ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE)) {
            settings.put(option.key(), String.valueOf(conf.get(option)));
        }
        new TreeMap<>(given.toMap()).forEach((key, value) -> settings.putIfAbsent(key, shown(key, value)));
        return settings;
    }

    /** A value as a report may show it: a Kafka client's may be a secret (a SASL JAAS config), as may others. */
    private static String shown(String key, String value) {
        return key.startsWith(KafkaOptions.CLIENT_PREFIX) || GlobalConfiguration.isSensitive(key)
                ? GlobalConfiguration.HIDDEN_CONTENT
                : value;
    }

    private void writeJson(EvaluationReport report, PrintWriter out) throws IOException {
        if (json == null) {
            return;
        }
        if (json.equals("-")) {
            out.println(report.toJson());
            out.flush();
        } else {
            Files.writeString(Path.of(json), report.toJson() + System.lineSeparator(), StandardCharsets.UTF_8);
            out.println("Results written to " + json);
        }
    }

    private static double seconds(Instant since) {
        return Duration.between(since, Instant.now()).toMillis() / 1000.0;
    }
}
