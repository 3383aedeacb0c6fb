package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.ConfigurationOptions;
import io.strawless.ops.demo.JobMetrics;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.internals.Topic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code strawless backfill}: replays a past stretch of the input topics through the job into new topics. */
@Command(
        name = "backfill",
        header = "Replay a past stretch of the input topics through the job (e.g. with another estimator)"
                + " into new topics.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Runs the Strawless job on a local Flink MiniCluster over the input records whose Kafka timestamps lie"
                        + " in [--from, --to), in streaming mode so that its timeouts fire as they did live, and"
                        + " writes exactly once to --output-topic (and to its own dead-letter and unscored topics)."
                        + " Pass the live job's settings with -D (at least -D kafka.bootstrap-servers=HOST:PORT): the"
                        + " replay then scores as the live job did. Settings of the cluster's deployment that a local"
                        + " run cannot honour (taskmanager.numberOfTaskSlots, high-availability.*, rest.port,"
                        + " rest.bind-port) are left out, with a warning each. It uses a consumer group and"
                        + " transactional ids of its own, prints a progress line every few seconds, ends by itself and"
                        + " prints what it wrote and the job's books.",
                "Exit code 0 when the backfill finished, 1 when it failed, found no records in the range, found that"
                        + " retention has deleted its start (see --allow-retention-gap), that records of the range"
                        + " were deleted before its job read them, or that the job's books do not balance or disagree"
                        + " with what its output topics hold; 2 for bad usage (flags, settings)."})
public final class BackfillCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, converter = TimeArgument.class, paramLabel = "TIME",
            description = "First Kafka timestamp to replay (inclusive): epoch milliseconds, an ISO-8601 instant"
                    + " (2025-11-25T16:00:00Z), a date-time with offset or a date (midnight UTC).")
    private Instant from;

    @Option(names = "--to", required = true, converter = TimeArgument.class, paramLabel = "TIME",
            description = "Kafka timestamp to stop at (exclusive), in the same forms. Records produced after the"
                    + " backfill starts are never read.")
    private Instant to;

    @Option(names = "--output-topic", required = true, paramLabel = "TOPIC",
            description = "Topic of the training batches; created if missing, and must be empty.")
    private String outputTopic;

    @Option(names = "--estimator", paramLabel = "NAME",
            description = "Credit estimator (credit.estimator): ${COMPLETION-CANDIDATES}. Default: as configured"
                    + " with -D, else outcome.")
    private Estimator estimator;

    @Option(names = "--dead-letter-topic", paramLabel = "TOPIC",
            description = "Topic of the dead letters (default: the output topic + .dlq).")
    private String deadLetterTopic;

    @Option(names = "--unscored-topic", paramLabel = "TOPIC",
            description = "Topic of the unscored trajectories (default: the output topic + .unscored).")
    private String unscoredTopic;

    @Option(names = "--allow-retention-gap",
            description = "Replay what is left when --from is earlier than an input topic still holds (retention"
                    + " deleted the start of the range), with a warning per topic. Without it such a backfill stops"
                    + " before it starts.")
    private boolean allowRetentionGap;

    @Option(names = "--output-retention", paramLabel = "DURATION", converter = RetentionArgument.class,
            description = "retention.ms of the output topics the backfill creates: a duration (30d, 12h) or 'forever'."
                    + " Default: topics.retention (the input topics', 7 days unless set with -D), after which"
                    + " Kafka deletes the backfilled batches. Topics that exist already keep theirs.")
    private Duration outputRetention;

    /** The job's parallelism where neither --parallelism nor -D parallelism.default gives one. */
    static final int DEFAULT_PARALLELISM = 2;

    @Option(names = "--parallelism", paramLabel = "N",
            description = "Parallelism of the job. Default: -D parallelism.default where given (as the live job's"
                    + " settings would), else " + DEFAULT_PARALLELISM + "; where both are given, this flag wins.")
    private Integer parallelism;

    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Configuration live = configuration.toConfiguration();
        if (estimator != null) {
            live.set(CreditOptions.ESTIMATOR, estimator);
        }
        live.set(CoreOptions.DEFAULT_PARALLELISM,
                ConfigurationOptions.parallelism(spec, parallelism, live, DEFAULT_PARALLELISM));
        BackfillPlan plan;
        Configuration jobConf;
        CreditConfig credit;
        try {
            BackfillPlan named = BackfillPlan.of(from, to, outputTopic);
            plan = new BackfillPlan(from, to, outputTopic,
                    deadLetterTopic == null ? named.deadLetterTopic() : deadLetterTopic,
                    unscoredTopic == null ? named.unscoredTopic() : unscoredTopic);
            requireUsableTopicNames(plan);
            jobConf = plan.jobConfiguration(live);
            credit = CreditConfig.from(jobConf);
            // What the job itself would refuse, refused before any topic is created or group deleted.
            Backfill.checkJob(jobConf);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }

        PrintWriter out = spec.commandLine().getOut();
        out.printf("Backfill from %s to %s into %s (dead letters: %s, unscored: %s)%n",
                plan.from(), plan.to(), plan.outputTopic(), plan.deadLetterTopic(), plan.unscoredTopic());
        out.printf("Estimator %s, configuration fingerprint %s; Kafka at %s%n",
                credit.estimator(), credit.fingerprint(), jobConf.get(KafkaOptions.BOOTSTRAP_SERVERS));
        // The address, the estimator and the parallelism, then the backfill's own keys: with the live job's other settings, this is
        // the same backfill on a cluster. Other -D values are not echoed: they may hold credentials.
        Map<String, String> own = plan.ownSettings(live);
        Map<String, String> cluster = new LinkedHashMap<>();
        cluster.put(KafkaOptions.BOOTSTRAP_SERVERS.key(), jobConf.get(KafkaOptions.BOOTSTRAP_SERVERS));
        cluster.put(CreditOptions.ESTIMATOR.key(), credit.estimator().toString());
        cluster.put(CoreOptions.DEFAULT_PARALLELISM.key(), String.valueOf(jobConf.get(CoreOptions.DEFAULT_PARALLELISM)));
        cluster.putAll(own);
        out.println("On a cluster: flink run <these> <the live job's other settings> strawless-job.jar");
        out.println("  " + cluster.entrySet().stream()
                .map(e -> "-D" + e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(" ")));
        Duration retention = outputRetention != null ? outputRetention : jobConf.get(KafkaOptions.TOPIC_RETENTION);
        out.printf("New output topics keep records %s (--output-retention)%n", RetentionArgument.describe(retention));
        out.flush();
        // The live job's settings are passed as they are, and a backfill replaces a few: said, not done silently.
        PrintWriter err = spec.commandLine().getErr();
        plan.replacedSettings(live).forEach((key, given) -> err.println(Backfill.WARNING + "-D " + key + "=" + given
                + " is replaced by " + own.get(key) + " for the backfill (its range, topics and ids are its own; it"
                + " reads to the range's end without idleness, does not restart, and commits the end of its output in a"
                + " checkpoint after its tasks finish: see README, Backfill)"));
        err.flush();

        Backfill.Result result;
        try {
            // Warnings on standard error, as the refusals: a script that keeps the progress and summary sees them.
            result = Backfill.run(jobConf, allowRetentionGap, retention, line -> {
                PrintWriter to = line.startsWith(Backfill.WARNING) ? err : out;
                to.println(line);
                to.flush();
            });
        } catch (Backfill.Refused refused) {
            return fail(refused.getMessage());
        }
        printSummary(out, plan, result);
        if (!result.problems().isEmpty()) {
            return fail(String.join("; ", result.problems()));
        }
        return 0;
    }

    /** One line on standard error, exit code 1. */
    private int fail(String message) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(spec.qualifiedName() + ": " + message);
        err.flush();
        return spec.exitCodeOnExecutionException();
    }

    /**
     * The output topics' names, checked before anything is created: Kafka's own rules for topic names (at most 249
     * characters of ASCII letters, digits, '.', '_' and '-'), and three different topics (the job's own check of that
     * would name the {@code topics.*} keys, which these flags override). The flag named is the one to change.
     */
    private void requireUsableTopicNames(BackfillPlan plan) {
        List<Map.Entry<String, String>> topicsAndFlags = List.of(
                Map.entry(plan.outputTopic(), "--output-topic"),
                Map.entry(plan.deadLetterTopic(), deadLetterTopic != null ? "--dead-letter-topic"
                        : "--output-topic (the dead-letter topic " + plan.deadLetterTopic() + " is named after it)"),
                Map.entry(plan.unscoredTopic(), unscoredTopic != null ? "--unscored-topic"
                        : "--output-topic (the unscored topic " + plan.unscoredTopic() + " is named after it)"));
        Map<String, String> flagByTopic = new HashMap<>();
        for (Map.Entry<String, String> topicAndFlag : topicsAndFlags) {
            String topic = topicAndFlag.getKey();
            String flag = topicAndFlag.getValue();
            try {
                Topic.validate(topic);
            } catch (InvalidTopicException e) {
                throw new ParameterException(spec.commandLine(), "Invalid value for " + flag + ": " + e.getMessage(), e);
            }
            String earlier = flagByTopic.putIfAbsent(topic, flag);
            if (earlier != null) {
                throw new ParameterException(spec.commandLine(), "Invalid value: " + earlier + " and " + flag
                        + " both name " + topic + ": the batches, the dead letters and the unscored trajectories each"
                        + " need a topic of their own (one topic would mix their records); pass another --output-topic,"
                        + " --dead-letter-topic or --unscored-topic");
            }
        }
    }

    private static void printSummary(PrintWriter out, BackfillPlan plan, Backfill.Result result) {
        OutputTally output = result.output();
        out.println();
        out.printf("Backfill finished: %,d input records replayed, of %,d in the range %s%n", result.recordsRead(),
                result.rangeRecords(), result.recordsIn());
        out.printf("  %-32s %,d trajectories scored (%,d steps) in %,d batches%n",
                plan.outputTopic(), output.trajectories(), output.steps(), output.batches());
        for (String estimator : output.estimators()) {
            out.printf("  %-32s estimator and fingerprint: %s%n", "", estimator);
        }
        out.printf("  %-32s %,d dead letters%n", plan.deadLetterTopic(), output.deadLetters());
        out.printf("  %-32s %,d unscored %s%n", plan.unscoredTopic(), output.unscored(), output.unscoredByReason());
        out.println("The job's books: in = batched + dead-lettered + unscored + dropped");
        for (JobMetrics.Book book : result.books()) {
            out.printf("  %-32s %,d%s%n", book.input(), book.in(), book.sums());
        }
        out.printf("Throughput  %,.0f input records/s (job ran %.1f s); wall time %.1f s%n",
                result.recordsPerSecond(), result.jobRuntime().toMillis() / 1000.0, result.wall().toMillis() / 1000.0);
        out.flush();
    }
}
