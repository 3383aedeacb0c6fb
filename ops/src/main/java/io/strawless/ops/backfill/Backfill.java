package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.topics.KafkaAdmin;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import io.strawless.ops.LocalCheckpoints;
import io.strawless.ops.demo.JobMetrics;
import io.strawless.ops.deploy.KafkaPreflight;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.StrawlessJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FileUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

/**
 * Runs a backfill: the Strawless job with bounded Kafka sources over a past stretch of the input topics
 * (configured by {@link BackfillPlan#jobConfiguration}), in streaming mode, writing exactly once to topics
 * of its own.
 *
 * <p>It ends by itself: once every source partition reaches its stop offset the sources finish, the
 * watermark jumps to the end of time so that every event-time wait still open times out as it would have
 * live, and the final checkpoint (Flink checkpoints after tasks finish, which the backfill pins on: {@link
 * BackfillPlan#ownSettings}) commits the last Kafka transactions before the job reports FINISHED.
 *
 * <p>It never restarts (see {@link BackfillPlan#ownSettings}): a failed backfill fails, and is run again into
 * fresh topics.
 */
public final class Backfill {

    private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(3);
    /** How a line of the log that warns begins: the command prints those on standard error. */
    static final String WARNING = "warning: ";
    /** An output retention that keeps records forever: Kafka's retention.ms -1. */
    public static final Duration FOREVER = Duration.ofMillis(-1);
    private static final int BAR_WIDTH = 24;
    private static final String FREE_PORT =
            "the local MiniCluster serves its REST API on a free port (the cluster's may be taken here)";
    /**
     * Settings of a cluster's deployment that a local MiniCluster would take up to the backfill's harm, each with why
     * the local run leaves it out: a key, and the keys below it ({@code high-availability.*}).
     */
    private static final Map<String, String> CLUSTER_SETTINGS = Map.of(
            TaskManagerOptions.NUM_TASK_SLOTS.key(), "the local MiniCluster would have that many slots instead of one"
                    + " per parallel task, and a job with more parallel tasks than slots waits for slots that never"
                    + " come, then fails (set the parallelism with --parallelism instead)",
            "high-availability", "a local run has no high-availability services to reach, nor needs them (it does not"
                    + " restart)",
            RestOptions.PORT.key(), FREE_PORT,
            RestOptions.BIND_PORT.key(), FREE_PORT);

    private Backfill() {}

    /**
     * @param recordsIn    input records in the range, by topic (offsets: with transactional producers they include
     *                     commit markers and aborted records, which no reader sees)
     * @param books        the job's books, by input kind
     * @param incomplete   why the output lacks records of the range, in one line; empty when it does not
     * @param bookProblems what the books say is wrong ({@link #bookProblems}), one line each; empty when nothing is
     * @param output       what the backfill wrote, read committed
     * @param jobRuntime   how long the job ran (from submission to FINISHED)
     * @param wall         the whole run: checks, job, read-back
     */
    public record Result(Map<String, Long> recordsIn, List<JobMetrics.Book> books,
            Optional<String> incomplete, List<String> bookProblems, OutputTally output, Duration jobRuntime,
            Duration wall) {

        /** Input records in the range. */
        public long rangeRecords() {
            return recordsIn.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Input records the job read (its books' {@code ledger.*.in}). */
        public long recordsRead() {
            return books.stream().mapToLong(JobMetrics.Book::in).sum();
        }

        /** Input records read, per second of job runtime. */
        public double recordsPerSecond() {
            return recordsRead() / Math.max(0.001, jobRuntime.toMillis() / 1000.0);
        }

        /** Why the backfill failed although its job finished, one line each; empty when it did not. */
        public List<String> problems() {
            List<String> problems = new ArrayList<>();
            incomplete.ifPresent(problems::add);
            problems.addAll(bookProblems);
            return problems;
        }
    }

    /**
     * The backfill stopped before its job ran, for what it found in Kafka (not for its arguments): no records in
     * the range, or a range that starts before what retention has kept. One line, ready to print.
     */
    static final class Refused extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /**
     * Runs the backfill configured in {@code jobConf} to its end, on a local Flink MiniCluster, reporting a
     * progress line every few seconds to {@code log}. Checkpoints go to a temporary directory, deleted
     * afterwards, unless {@code jobConf} names one ({@link #localConfiguration}). A range that starts before
     * what the input topics still hold is refused ({@link Refused}).
     */
    public static Result run(Configuration jobConf, Consumer<String> log) throws Exception {
        return run(jobConf, false, log);
    }

    /**
     * As {@link #run(Configuration, Consumer)}; with {@code allowRetentionGap}, a range that starts before what
     * the input topics still hold is replayed from where they start, with a warning per topic.
     */
    public static Result run(Configuration jobConf, boolean allowRetentionGap, Consumer<String> log)
            throws Exception {
        return run(jobConf, allowRetentionGap, jobConf.get(KafkaOptions.TOPIC_RETENTION), log);
    }

    /**
     * As {@link #run(Configuration, boolean, Consumer)}, creating the output topics it creates with
     * {@code outputRetention} as their retention.ms ({@link #FOREVER}: kept forever) instead of
     * {@code topics.retention}, which is the input topics'.
     */
    public static Result run(Configuration jobConf, boolean allowRetentionGap, Duration outputRetention,
            Consumer<String> log) throws Exception {
        Path workDir = Files.createTempDirectory("strawless-backfill");
        try {
            return runLocally(localConfiguration(jobConf, workDir, log), allowRetentionGap, outputRetention, log);
        } finally {
            FileUtils.deleteDirectoryQuietly(workDir.toFile());
        }
    }

    /**
     * Builds the job of {@code jobConf} on an environment that is never run: the settings the job refuses
     * (checkpointing off, a {@code kafka.transaction-timeout} shorter than a checkpoint may take, a bad
     * mini-batch size, ...) throw here, before anything is asked of Kafka, and so do the {@code topics.*} and
     * {@code kafka.client.*} values the topics and the admin client would refuse, and a {@code metrics.reporters} list
     * without the books' reporter (the books would be found empty only after the whole replay).
     *
     * @throws IllegalArgumentException naming the key
     */
    static void checkJob(Configuration jobConf) {
        // Before the environment is made: Flink refuses a short interval there, without naming the key.
        StrawlessJob.requireCheckpointInterval(jobConf);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
        StrawlessJob.buildOnKafka(env, jobConf, inputSource(jobConf, Map.of(), Map.of()));
        // What the backfill's topics and admin calls would refuse once they ask Kafka, refused now.
        TopicProvisioner.checkSettings(jobConf);
        KafkaAdmin.checkSettings(jobConf);
        JobMetrics.requireReported(jobConf);
    }

    /**
     * The job's source: from the range's first offsets, as counted, to its stops, so that it reads what the progress
     * lines count (a lookup of {@code source.start-timestamp} of its own could find other offsets); a partition whose
     * start retention deleted goes on from its earliest record left ({@link StrawlessKafka#boundedInputSource}).
     */
    static KafkaSource<InputRecord> inputSource(
            ReadableConfig jobConf, Map<TopicPartition, Long> starts, Map<TopicPartition, Long> stops) {
        return StrawlessKafka.boundedInputSource(jobConf, starts, stops);
    }

    /**
     * {@code jobConf} as the local MiniCluster runs it: with checkpoints under {@code workDir} unless it names
     * a directory (see {@link LocalCheckpoints#defaultDirectory}), and without the settings of a cluster's deployment
     * that a local run cannot honour ({@link #CLUSTER_SETTINGS}), a warning line each to {@code log}. Not among the
     * plan's own settings: on a cluster checkpoints belong on the cluster's durable storage, not in a local temporary
     * directory, and the cluster's settings are its own.
     */
    static Configuration localConfiguration(Configuration jobConf, Path workDir, Consumer<String> log) {
        Configuration local = new Configuration(jobConf);
        for (String key : new TreeSet<>(jobConf.keySet())) {
            // The key alone: a value (a ZooKeeper ACL's, say) may be a credential.
            clusterSetting(key).ifPresent(why -> {
                local.removeKey(key);
                log.accept(WARNING + "-D " + key + " is left out: " + why);
            });
        }
        LocalCheckpoints.defaultDirectory(local, workDir.resolve("checkpoints"));
        return local;
    }

    /** Why the local run leaves {@code key} out, where it is one of {@link #CLUSTER_SETTINGS}. */
    private static Optional<String> clusterSetting(String key) {
        return CLUSTER_SETTINGS.entrySet().stream()
                .filter(setting -> key.equals(setting.getKey()) || key.startsWith(setting.getKey() + "."))
                .map(Map.Entry::getValue)
                .findFirst();
    }

    private static Result runLocally(Configuration jobConf, boolean allowRetentionGap, Duration outputRetention,
            Consumer<String> log) throws Exception {
        Instant start = Instant.now();
        requireInputTopics(jobConf);
        // Nothing is created or deleted until the range is known to hold records and the job is built.
        try (InputRange range = InputRange.of(jobConf); JobMetrics metrics = JobMetrics.attachTo(jobConf)) {
            checkRange(range, allowRetentionGap, log);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
            StrawlessJob.buildOnKafka(env, jobConf, inputSource(jobConf, range.starts(), range.stops()));
            // As the cluster's entry point checks it: a limit below the timeout fails every transaction, after the
            // topics were made.
            List<String> unchecked = new ArrayList<>();
            try {
                KafkaPreflight.checkTransactionLimit(jobConf, range.admin(), unchecked);
            } catch (IllegalStateException e) {
                throw new Refused(e.getMessage());
            }
            unchecked.forEach(warning -> log.accept(WARNING + warning));
            prepareTopics(jobConf, outputRetention, log);
            log.accept("reading %,d offsets of the input topics %s from %s to %s".formatted(
                    range.target(), range.recordsByTopic(), range.from(), range.to()));
            JobClient job = env.executeAsync(jobConf.get(JobOptions.JOB_NAME));
            JobExecutionResult finished;
            ScheduledExecutorService ticker = progressTicker(range, log);
            try {
                finished = job.getJobExecutionResult().get();
            } catch (ExecutionException failed) {
                throw new IllegalStateException("the backfill job failed; what it committed stays in its output topics:"
                        + " delete them (or choose another output topic) and run it again", failed.getCause());
            } catch (InterruptedException e) {
                job.cancel(); // leave no job running behind an interrupted run
                throw e;
            } finally {
                ticker.shutdownNow();
            }
            // First: records deleted from now on had all been read.
            InputRange.Position end = range.jobFinished();
            // A backfill never restarts, so its books are those of its one attempt.
            List<JobMetrics.Book> books = metrics.books(job.getJobID());
            long read = books.stream().mapToLong(JobMetrics.Book::in).sum();
            // In offsets, as the lines before it; the records read apart (fewer where commit markers took offsets).
            log.accept(progressLine(end, range.to())
                    + "; job finished, %,d input records read (its books)".formatted(read));
            Optional<String> incomplete = shortfall(range.deletedUnread(), range.target(), read);
            OutputTally output;
            try {
                output = OutputTally.read(jobConf);
            } catch (RuntimeException | ExecutionException e) {
                // Said plainly: a run that failed before its job finished would be run again, and this one must not.
                throw new IllegalStateException("the job finished and its output is committed, but counting it failed: "
                        + e.getMessage() + " (its topics hold the backfill's output: do not run it into them again)", e);
            }
            return new Result(range.recordsByTopic(), books, incomplete,
                    bookProblems(books, range.target(), output), output,
                    Duration.ofMillis(finished.getNetRuntime()), Duration.between(start, Instant.now()));
        }
    }

    /**
     * Warns of a {@code --to} later than now, and refuses (with {@link Refused}) a range without records, or one
     * that starts before what an input topic still holds unless {@code allowRetentionGap}: one warning line per
     * such topic either way.
     */
    static void checkRange(InputRange range, boolean allowRetentionGap, Consumer<String> log) {
        if (range.to().isAfter(range.lookedUpAt())) {
            log.accept((WARNING + "--to %s is later than now (%s): the backfill reads the records the topics held now,"
                    + " up to their ends; records produced from now on are not read, whatever their timestamps")
                    .formatted(range.to(), range.lookedUpAt().truncatedTo(ChronoUnit.SECONDS)));
        }
        List<InputRange.RetentionGap> gaps = range.retentionGaps();
        for (InputRange.RetentionGap gap : gaps) {
            log.accept((WARNING + "input topic %s holds records only from %s on in partitions %s (retention deleted the"
                    + " earlier ones): the range starts there, not at --from %s")
                    .formatted(gap.topic(), gap.completeFrom(), gap.partitions(), range.from()));
        }
        if (!gaps.isEmpty() && !allowRetentionGap) {
            Instant complete = gaps.stream().map(InputRange.RetentionGap::completeFrom).max(Instant::compareTo)
                    .orElseThrow();
            throw new Refused("--from " + range.from() + " is earlier than the input topics still hold (see the"
                    + " warnings): records of the range may have been deleted by retention. Pass --from " + complete
                    + " or later, or --allow-retention-gap to replay what is left");
        }
        if (range.target() == 0) {
            throw new Refused("no input records in " + range.recordsByTopic().keySet() + " between --from "
                    + range.from() + " and --to " + range.to() + ": check the range (Kafka timestamps, the producers'"
                    + " create times) and " + KafkaOptions.BOOTSTRAP_SERVERS.key());
        }
    }

    /**
     * Why the output lacks records of the range: some were deleted (by retention, a DeleteRecords) before the job read
     * them, and its source went on from the earliest record left. The range's count of them ({@link
     * InputRange#deletedUnread}) takes in any the job had read but not yet checkpointed when they went, which cost it
     * nothing; the job's books bound it, as they count every record it read. No record is lost where it read as many
     * as the range has offsets, and at most the difference otherwise: the rest of that difference is commit markers and
     * aborted records of transactional producers, which take offsets of the range that no reader sees.
     *
     * @param deletedUnread per partition, up to how many offsets of the range were deleted before the job read them
     * @param rangeOffsets  the offsets of the range
     * @param recordsRead   the input records the job read (its books' {@code in})
     */
    static Optional<String> shortfall(Map<TopicPartition, Long> deletedUnread, long rangeOffsets, long recordsRead) {
        long notRead = rangeOffsets - recordsRead;
        if (deletedUnread.isEmpty() || notRead <= 0) {
            return Optional.empty();
        }
        // No partition, nor all of them together, can have lost more records than the job did not read.
        long records = Math.min(notRead, deletedUnread.values().stream().mapToLong(Long::longValue).sum());
        String where = deletedUnread.entrySet().stream().limit(3)
                .map(e -> "%,d in %s".formatted(Math.min(notRead, e.getValue()), e.getKey()))
                .collect(Collectors.joining(", ")) + (deletedUnread.size() > 3 ? ", ..." : "");
        return Optional.of(("up to %,d input records of the range were deleted before the job read them (retention?):"
                + " %s. Its output lacks them: replay a later --from, or raise the input topics' retention.ms, into a"
                + " fresh output topic").formatted(records, where));
    }

    /**
     * What the job's books say is wrong, one line each: books of zeros beside the range's records (its metrics never
     * reached them, and nothing else is judged), a book that does not balance (an input that left the job by no way,
     * or by two), or an output topic that holds other inputs than the books say left that way: dead letters, steps and
     * outcomes batched, and steps, outcomes and verdicts unscored (not where an unscored trajectory went out without
     * its inputs, which it then does not count). The books count a record as it leaves the job's operators, before the
     * sink commits it, so fewer committed than counted is output lost after the count, most likely in a transaction
     * the broker aborted (ops/METRICS.md, Lost output), which does not fail the job.
     *
     * @param rangeRecords the offsets of the range
     * @param output       what the backfill's output topics hold
     */
    static List<String> bookProblems(List<JobMetrics.Book> books, long rangeRecords, OutputTally output) {
        Optional<String> notReported = JobMetrics.notReported(books, rangeRecords);
        if (notReported.isPresent()) {
            return List.of(notReported.get());
        }
        List<String> problems = new ArrayList<>();
        for (JobMetrics.Book book : books) {
            if (!book.holds()) {
                problems.add(("the job's books do not balance for %s: %,d in, %,d out (%,d batched + %,d dead-lettered"
                        + " + %,d unscored + %,d dropped)").formatted(book.input(), book.in(),
                        book.batched() + book.deadLettered() + book.unscored() + book.dropped(), book.batched(),
                        book.deadLettered(), book.unscored(), book.dropped()));
            }
        }
        JobMetrics.deadLettersDiffer(books, output.deadLetters()).ifPresent(problems::add);
        Map<String, JobMetrics.Book> byKind =
                books.stream().collect(Collectors.toMap(JobMetrics.Book::input, Function.identity()));
        JobMetrics.Book steps = byKind.get(Ledger.metricName(Ledger.Kind.STEPS));
        JobMetrics.Book outcomes = byKind.get(Ledger.metricName(Ledger.Kind.OUTCOMES));
        JobMetrics.Book verdicts = byKind.get(Ledger.metricName(Ledger.Kind.VERDICTS));
        // Verdicts batched cannot be compared: a batch does not list the verdicts its trajectories were scored with.
        committedDiffers("batched", "the batches topic", List.of(
                new Committed("steps", steps.batched(), output.steps()),
                new Committed("outcomes", outcomes.batched(), output.outcomes()))).ifPresent(problems::add);
        OutputTally.UnscoredInputs unscored = output.unscoredInputs();
        if (unscored.recordsWithoutInputs() == 0) {
            committedDiffers("unscored", "the unscored topic", List.of(
                    new Committed("steps", steps.unscored(), unscored.steps()),
                    new Committed("outcomes", outcomes.unscored(), unscored.outcomes()),
                    new Committed("verdicts", verdicts.unscored(), unscored.verdicts()))).ifPresent(problems::add);
        }
        return problems;
    }

    /** Input records of one kind that left the job one way: as its books count them, and as its output holds them. */
    private record Committed(String kind, long counted, long committed) {}

    /**
     * E.g. "the job's books count 120 steps and 12 outcomes batched, the batches topic holds 100 and 10: ...", with
     * the likely cause; empty where every kind agrees.
     */
    private static Optional<String> committedDiffers(String way, String topic, List<Committed> kinds) {
        if (kinds.stream().allMatch(kind -> kind.counted() == kind.committed())) {
            return Optional.empty();
        }
        String counted = listed(kinds.stream().map(kind -> "%,d %s".formatted(kind.counted(), kind.kind())).toList());
        String committed = listed(kinds.stream().map(kind -> "%,d".formatted(kind.committed())).toList());
        boolean lost = kinds.stream().anyMatch(kind -> kind.committed() < kind.counted());
        return Optional.of("the job's books count %s %s, %s holds %s: %s".formatted(counted, way, topic, committed,
                lost ? "output the job counted was not committed, most likely in a transaction the broker aborted"
                        + " (see ops/METRICS.md, Lost output)"
                        : "inputs the job did not count that way (another producer writing to it?)"));
    }

    /** "a", "a and b", "a, b and c". */
    private static String listed(List<String> items) {
        int last = items.size() - 1;
        return last == 0 ? items.get(0) : String.join(", ", items.subList(0, last)) + " and " + items.get(last);
    }

    /**
     * The output topics must be empty where they exist, and are created where missing; then the backfill's consumer group is
     * deleted ({@link #forgetEarlierRuns}). A topic that differs from the {@code topics.*} settings is reported to
     * {@code log}, one line each, and used as it is, except an output topic that refuses the job's writes (too small
     * for its records, a min.insync.replicas above its replicas, a compacted dead-letter topic: see {@link
     * TopicStatus#writesFail}): the job would fail on its first such write, after writing part of its output, so the
     * backfill stops before it starts (after the missing topics were made: the provisioner reads a topic's settings as
     * it checks it). The first of the backfill's steps that change the cluster: everything else that can refuse the
     * backfill comes before.
     */
    static void prepareTopics(Configuration jobConf, Consumer<String> log)
            throws ExecutionException, InterruptedException {
        prepareTopics(jobConf, jobConf.get(KafkaOptions.TOPIC_RETENTION), log);
    }

    /**
     * As {@link #prepareTopics(Configuration, Consumer)}, the output topics made and checked with
     * {@code outputRetention} as their retention.ms ({@link #FOREVER}: -1) rather than {@code topics.retention}:
     * a backfill's output is kept for research, not consumed within the inputs' retention.
     */
    static void prepareTopics(Configuration jobConf, Duration outputRetention, Consumer<String> log)
            throws ExecutionException, InterruptedException {
        List<String> inputs = InputRange.topics(jobConf);
        List<String> outputs = KafkaOptions.outputTopics(jobConf);
        Configuration outputConf = new Configuration(jobConf);
        outputConf.set(KafkaOptions.TOPIC_RETENTION, outputRetention);
        try (Admin admin = KafkaAdmin.create(jobConf)) {
            // Before any topic is made: a refusal leaves the cluster as it was (not the other output topics made).
            Set<String> existing = KafkaAdmin.await(jobConf, admin.listTopics().names());
            requireEmpty(jobConf, admin, outputs.stream().filter(existing::contains).toList());
            List<TopicStatus> statuses = new ArrayList<>(TopicProvisioner.ensureTopics(jobConf, inputs));
            statuses.addAll(TopicProvisioner.ensureTopics(outputConf, outputs));
            List<TopicStatus> refusing = new ArrayList<>();
            for (TopicStatus status : statuses) {
                if (status.ok()) {
                    continue;
                }
                boolean output = outputs.contains(status.topic());
                log.accept(WARNING + "%s topic %s: %s %s".formatted(
                        output ? "output" : "input", status.topic(), status.state(), status.detail()));
                // The other differences (partitions, replicas, retention) do not stop a replay, and the backfill
                // writes no input topic.
                if (output && status.writesFail()) {
                    refusing.add(status);
                }
            }
            if (!refusing.isEmpty()) {
                boolean tooSmall = refusing.stream()
                        .anyMatch(status -> status.detail().contains(TopicConfig.MAX_MESSAGE_BYTES_CONFIG));
                throw new IllegalStateException("output topics " + refusing.stream().map(TopicStatus::topic).toList()
                        + " cannot take the records the job writes (" + refusing.stream().map(TopicStatus::detail)
                        .collect(Collectors.joining("; ")) + "): choose other output topics, or change these"
                        + " (kafka-configs.sh)"
                        + (tooSmall ? " or lower -D " + KafkaOptions.MAX_RECORD_BYTES.key() : ""));
            }
            forgetEarlierRuns(jobConf, admin, log);
        }
    }

    /** The input topics must exist: there is nothing to replay otherwise. Asks Kafka, changes nothing. */
    static void requireInputTopics(Configuration jobConf) {
        List<String> inputs = InputRange.topics(jobConf);
        List<String> missing = TopicProvisioner.check(jobConf).stream()
                .filter(status -> status.state() == TopicStatus.State.MISSING && inputs.contains(status.topic()))
                .map(TopicStatus::topic).toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("input topics " + missing + " do not exist at "
                    + jobConf.get(KafkaOptions.BOOTSTRAP_SERVERS) + ": nothing to replay. Pass the live job's -D "
                    + KafkaOptions.STEPS_TOPIC.key() + ", -D " + KafkaOptions.OUTCOMES_TOPIC.key() + " and -D "
                    + KafkaOptions.VERDICTS_TOPIC.key() + " (the topics it reads)");
        }
    }

    /**
     * Deletes the backfill's consumer group. It is named after the output topic, so a run into a topic emptied
     * since an earlier run (deleted and made anew, as the failure message advises) finds that run's commits in
     * it, and the progress line, which reads them, would start where that run stopped. The job itself starts
     * from the range's offsets either way; the group is the backfill's own and no consumer is a member of it.
     *
     * <p>So a cluster whose ACLs do not let the backfill delete the group costs only the progress line's
     * accuracy: that is a warning, which names the ACL to grant, and the backfill goes on.
     */
    static void forgetEarlierRuns(ReadableConfig conf, Admin admin, Consumer<String> log)
            throws ExecutionException, InterruptedException {
        String group = conf.get(KafkaOptions.GROUP_ID);
        try {
            KafkaAdmin.await(conf, admin.deleteConsumerGroups(List.of(group)).all());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupAuthorizationException) {
                log.accept((WARNING + "not allowed to delete the backfill's consumer group %s (grant DELETE on group %s):"
                        + " the progress line may start where an earlier backfill into %s stopped; the job reads its"
                        + " whole range either way").formatted(group, group, conf.get(KafkaOptions.BATCHES_TOPIC)));
            } else if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e;
            }
        }
    }

    /** A second run into the same topics would make every trajectory appear twice to a trainer. */
    private static void requireEmpty(ReadableConfig conf, Admin admin, List<String> topics)
            throws ExecutionException, InterruptedException {
        if (topics.isEmpty()) {
            return;
        }
        List<TopicPartition> partitions = KafkaAdmin.await(conf, admin.describeTopics(topics).allTopicNames())
                .values().stream()
                .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                .toList();
        Map<TopicPartition, Long> earliest = offsets(conf, admin, partitions, OffsetSpec.earliest());
        Map<TopicPartition, Long> latest = offsets(conf, admin, partitions, OffsetSpec.latest());
        for (String topic : topics) {
            long records = partitions.stream().filter(p -> p.topic().equals(topic))
                    .mapToLong(p -> latest.get(p) - earliest.get(p)).sum();
            if (records > 0) {
                throw new IllegalStateException("output topic " + topic + " already holds " + records + " records"
                        + " (an earlier or failed backfill?): choose another output topic, or delete it first");
            }
        }
    }

    private static Map<TopicPartition, Long> offsets(ReadableConfig conf, Admin admin,
            List<TopicPartition> partitions, OffsetSpec spec) throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetSpec> request =
                partitions.stream().collect(Collectors.toMap(Function.identity(), p -> spec));
        return KafkaAdmin.await(conf, admin.listOffsets(request).all()).entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    private static ScheduledExecutorService progressTicker(InputRange range, Consumer<String> log) {
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "strawless-backfill-progress");
            thread.setDaemon(true);
            return thread;
        });
        long period = PROGRESS_INTERVAL.toMillis();
        ticker.scheduleAtFixedRate(() -> {
            try {
                log.accept(progressLine(range.position(), range.to()));
            } catch (Exception e) {
                log.accept("(progress unavailable: " + e.getMessage() + ")");
            }
        }, period, period, TimeUnit.MILLISECONDS);
        return ticker;
    }

    /**
     * E.g. {@code [#########...............]  38%  12,345 / 32,100 offsets, read up to 2025-11-25T10:32:10Z of
     * 2025-11-25T12:00:00Z}: offsets of the range, which transactional producers' commit markers and aborted records
     * take as well as the records.
     */
    static String progressLine(InputRange.Position position, Instant to) {
        int filled = (int) Math.round(Math.min(1, position.fraction()) * BAR_WIDTH);
        return "[%s%s] %3d%%  %,d / %,d offsets, read up to %s of %s".formatted(
                "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), Math.round(position.fraction() * 100),
                position.read(), position.target(), position.reachedUpTo().truncatedTo(ChronoUnit.SECONDS),
                to.truncatedTo(ChronoUnit.SECONDS));
    }
}
