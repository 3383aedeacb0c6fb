package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import io.strawless.ops.LocalCheckpoints;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FileUtils;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;

/**
 * Runs a backfill: the Strawless job with bounded Kafka sources over a past stretch of the input topics
 * (configured by {@link BackfillPlan#jobConfiguration}), in streaming mode, writing exactly once to topics
 * of its own.
 *
 * <p>It ends by itself: once every source partition reaches its stop offset the sources finish, the
 * watermark jumps to the end of time so that every event-time wait still open times out as it would have
 * live, and the final checkpoint (Flink checkpoints after tasks finish, on by default) commits the last
 * Kafka transactions before the job reports FINISHED.
 *
 * <p>It never restarts (see {@link BackfillPlan#ownSettings}): a failed backfill fails, and is run again into
 * fresh topics.
 */
public final class Backfill {

    private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(3);
    private static final int BAR_WIDTH = 24;

    private Backfill() {}

    /**
     * @param recordsIn  input records in the range, by topic
     * @param output     what the backfill wrote, read committed
     * @param jobRuntime how long the job ran (from submission to FINISHED)
     * @param wall       the whole run: checks, job, read-back
     */
    public record Result(Map<String, Long> recordsIn, OutputTally output, Duration jobRuntime, Duration wall) {

        public long inputRecords() {
            return recordsIn.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Input records per second of job runtime. */
        public double recordsPerSecond() {
            return inputRecords() / Math.max(0.001, jobRuntime.toMillis() / 1000.0);
        }
    }

    /**
     * Runs the backfill configured in {@code jobConf} to its end, on a local Flink MiniCluster, reporting a
     * progress line every few seconds to {@code log}. Checkpoints go to a temporary directory, deleted
     * afterwards, unless {@code jobConf} names one ({@link #localConfiguration}).
     */
    public static Result run(Configuration jobConf, Consumer<String> log) throws Exception {
        Path workDir = Files.createTempDirectory("strawless-backfill");
        try {
            return runLocally(localConfiguration(jobConf, workDir), log);
        } finally {
            FileUtils.deleteDirectoryQuietly(workDir.toFile());
        }
    }

    /**
     * {@code jobConf} as the local MiniCluster runs it: with checkpoints under {@code workDir} unless it names
     * a directory (see {@link LocalCheckpoints#defaultDirectory}). Not among the plan's own settings: on a
     * cluster checkpoints belong on the cluster's durable storage, not in a local temporary directory.
     */
    static Configuration localConfiguration(Configuration jobConf, Path workDir) {
        Configuration local = new Configuration(jobConf);
        LocalCheckpoints.defaultDirectory(local, workDir.resolve("checkpoints"));
        return local;
    }

    private static Result runLocally(Configuration jobConf, Consumer<String> log) throws Exception {
        Instant start = Instant.now();
        prepareTopics(jobConf, log);
        try (InputRange range = InputRange.of(jobConf)) {
            log.accept("reading %,d input records %s from %s to %s".formatted(
                    range.target(), range.recordsByTopic(), range.from(), range.to()));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
            StrawlessJob.buildOnKafka(env, jobConf);
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
            log.accept(progressLine(new InputRange.Position(range.target(), range.target(), range.to()), range.to())
                    + "; job finished");
            OutputTally output = OutputTally.read(jobConf);
            return new Result(range.recordsByTopic(), output, Duration.ofMillis(finished.getNetRuntime()),
                    Duration.between(start, Instant.now()));
        }
    }

    /**
     * The input topics must exist; the output topics are created where missing, and must be empty. A topic that
     * differs from the {@code topics.*} settings is reported to {@code log}, one line each, and used as it is,
     * except an output topic too small for the records the job writes: the job would fail on its first large
     * record, after writing part of its output, so the backfill stops before it starts.
     */
    static void prepareTopics(Configuration jobConf, Consumer<String> log)
            throws ExecutionException, InterruptedException {
        List<String> inputs = List.of(jobConf.get(KafkaOptions.STEPS_TOPIC), jobConf.get(KafkaOptions.OUTCOMES_TOPIC),
                jobConf.get(KafkaOptions.VERDICTS_TOPIC));
        List<String> missing = TopicProvisioner.check(jobConf).stream()
                .filter(status -> status.state() == TopicStatus.State.MISSING && inputs.contains(status.topic()))
                .map(TopicStatus::topic).toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("input topics " + missing + " do not exist at "
                    + jobConf.get(KafkaOptions.BOOTSTRAP_SERVERS) + ": nothing to replay");
        }
        List<String> outputs = List.of(jobConf.get(KafkaOptions.BATCHES_TOPIC),
                jobConf.get(KafkaOptions.DEAD_LETTERS_TOPIC), jobConf.get(KafkaOptions.UNSCORED_TOPIC));
        List<TopicStatus> tooSmall = new ArrayList<>();
        for (TopicStatus status : TopicProvisioner.ensureTopics(jobConf)) {
            if (status.ok()) {
                continue;
            }
            boolean output = outputs.contains(status.topic());
            log.accept("warning: %s topic %s: %s %s".formatted(
                    output ? "output" : "input", status.topic(), status.state(), status.detail()));
            // The provisioner names max.message.bytes in a DRIFT only when the topic cannot take the job's largest
            // record; the other differences (partitions, replicas, retention) do not stop a replay.
            if (output && status.detail().contains(TopicConfig.MAX_MESSAGE_BYTES_CONFIG)) {
                tooSmall.add(status);
            }
        }
        if (!tooSmall.isEmpty()) {
            throw new IllegalStateException("output topics " + tooSmall.stream().map(TopicStatus::topic).toList()
                    + " cannot take the records the job writes (" + tooSmall.get(0).detail() + "): choose other"
                    + " output topics, raise their " + TopicConfig.MAX_MESSAGE_BYTES_CONFIG + ", or lower -D "
                    + KafkaOptions.MAX_RECORD_BYTES.key());
        }
        Properties properties = KafkaOptions.clientProperties(jobConf);
        properties.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, jobConf.get(KafkaOptions.BOOTSTRAP_SERVERS));
        try (Admin admin = Admin.create(properties)) {
            requireEmpty(admin, outputs);
            forgetEarlierRuns(admin, jobConf.get(KafkaOptions.GROUP_ID));
        }
    }

    /**
     * Deletes the backfill's consumer group. It is named after the output topic, so a run into a topic emptied
     * since an earlier run (deleted and made anew, as the failure message advises) finds that run's commits in
     * it, and the progress line, which reads them, would start where that run stopped. The job itself starts
     * from the timestamp either way; the group is the backfill's own and no consumer is a member of it.
     */
    static void forgetEarlierRuns(Admin admin, String group) throws ExecutionException, InterruptedException {
        try {
            admin.deleteConsumerGroups(List.of(group)).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e;
            }
        }
    }

    /** A second run into the same topics would make every trajectory appear twice to a trainer. */
    private static void requireEmpty(Admin admin, List<String> topics)
            throws ExecutionException, InterruptedException {
        List<TopicPartition> partitions = admin.describeTopics(topics).allTopicNames().get().values().stream()
                .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                .toList();
        Map<TopicPartition, Long> earliest = offsets(admin, partitions, OffsetSpec.earliest());
        Map<TopicPartition, Long> latest = offsets(admin, partitions, OffsetSpec.latest());
        for (String topic : topics) {
            long records = partitions.stream().filter(p -> p.topic().equals(topic))
                    .mapToLong(p -> latest.get(p) - earliest.get(p)).sum();
            if (records > 0) {
                throw new IllegalStateException("output topic " + topic + " already holds " + records + " records"
                        + " (an earlier or failed backfill?): choose another output topic, or delete it first");
            }
        }
    }

    private static Map<TopicPartition, Long> offsets(Admin admin, List<TopicPartition> partitions, OffsetSpec spec)
            throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetSpec> request =
                partitions.stream().collect(Collectors.toMap(Function.identity(), p -> spec));
        return admin.listOffsets(request).all().get().entrySet().stream()
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
     * E.g. {@code [#########...............]  38%  12,345 / 32,100 records, read up to 2025-11-25T10:32:10Z of
     * 2025-11-25T12:00:00Z}.
     */
    static String progressLine(InputRange.Position position, Instant to) {
        int filled = (int) Math.round(Math.min(1, position.fraction()) * BAR_WIDTH);
        return "[%s%s] %3d%%  %,d / %,d records, read up to %s of %s".formatted(
                "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), Math.round(position.fraction() * 100),
                position.read(), position.target(), position.reachedUpTo().truncatedTo(ChronoUnit.SECONDS),
                to.truncatedTo(ChronoUnit.SECONDS));
    }
}
