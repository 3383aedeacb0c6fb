package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FileUtils;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

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
 * <p>Except when it resumes from a savepoint or checkpoint: flink-connector-kafka 5.0.0 never tells a
 * restored bounded source that no more partitions will come (FLINK-31006, fix proposed in
 * apache/flink-connector-kafka#318), so its readers reach their stop offsets and then wait forever. A resumed
 * run therefore waits until the job has read and checkpointed all of its input, then stops it with a draining
 * savepoint: the drain moves the watermark to the end of time and commits the last transactions, exactly
 * what the end of the input would have done.
 */
public final class Backfill {

  private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(3);
  private static final int BAR_WIDTH = 24;
  private static final Duration RESUMED_POLL_INTERVAL = Duration.ofMillis(500);

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
   * progress line every few seconds to {@code log}.
   */
  public static Result run(Configuration jobConf, Consumer<String> log) throws Exception {
    Instant start = Instant.now();
    try (InputRange range = InputRange.of(jobConf)) {
      log.accept("reading %,d input records %s from %s to %s".formatted(
          range.target(), range.recordsByTopic(), range.from(), range.to()));
      JobClient job = start(jobConf);
      JobExecutionResult finished;
      ScheduledExecutorService ticker = progressTicker(range, log);
      try {
        finished = jobConf.contains(StateRecoveryOptions.SAVEPOINT_PATH)
            ? drainOnceAllInputIsRead(job, range, jobConf, log)
            : job.getJobExecutionResult().get();
      } catch (Exception e) {
        job.cancel(); // best effort: leave no job running behind a failed run
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

  /** The end of a resumed run; see the class comment. */
  private static JobExecutionResult drainOnceAllInputIsRead(JobClient job, InputRange range, ReadableConfig jobConf,
      Consumer<String> log) throws Exception {
    CompletableFuture<JobExecutionResult> result = job.getJobExecutionResult();
    while (!result.isDone()) {
      if (range.position().read() >= range.target()) {
        log.accept("all input read and checkpointed; draining the resumed job, whose restored Kafka source cannot"
            + " end by itself (FLINK-31006)");
        Path temporary = Files.createTempDirectory("strawless-backfill-savepoint");
        try {
          String directory = jobConf.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY)
              .orElse(temporary.toUri().toString());
          job.stopWithSavepoint(true, directory, SavepointFormatType.CANONICAL).get();
          return result.get();
        } finally {
          FileUtils.deleteDirectoryQuietly(temporary.toFile());
        }
      }
      Thread.sleep(RESUMED_POLL_INTERVAL.toMillis());
    }
    return result.get();
  }

  /**
   * Checks the topics and starts the backfill job: the input topics must exist, the output topics are
   * created where missing and must be empty, unless the job resumes from a savepoint or checkpoint
   * ({@code execution.state-recovery.path}), whose transactions and offsets carry on where they stopped.
   */
  public static JobClient start(Configuration jobConf) throws Exception {
    List<String> inputs = List.of(jobConf.get(KafkaOptions.STEPS_TOPIC), jobConf.get(KafkaOptions.OUTCOMES_TOPIC),
        jobConf.get(KafkaOptions.VERDICTS_TOPIC));
    List<String> missing = TopicProvisioner.check(jobConf).stream()
        .filter(status -> status.state() == TopicStatus.State.MISSING && inputs.contains(status.topic()))
        .map(TopicStatus::topic).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException("input topics " + missing + " do not exist at "
          + jobConf.get(KafkaOptions.BOOTSTRAP_SERVERS) + ": nothing to replay");
    }
    TopicProvisioner.ensureTopics(jobConf);
    if (!jobConf.contains(StateRecoveryOptions.SAVEPOINT_PATH)) {
      requireEmpty(jobConf, List.of(jobConf.get(KafkaOptions.BATCHES_TOPIC),
          jobConf.get(KafkaOptions.DEAD_LETTERS_TOPIC), jobConf.get(KafkaOptions.UNSCORED_TOPIC)));
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
    StrawlessJob.buildOnKafka(env, jobConf);
    return env.executeAsync(jobConf.get(JobOptions.JOB_NAME));
  }

  /** A second run into the same topics would make every trajectory appear twice to a trainer. */
  private static void requireEmpty(ReadableConfig conf, List<String> topics)
      throws ExecutionException, InterruptedException {
    Properties properties = KafkaOptions.clientProperties(conf);
    properties.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, conf.get(KafkaOptions.BOOTSTRAP_SERVERS));
    try (Admin admin = Admin.create(properties)) {
      List<TopicPartition> partitions = admin.describeTopics(topics).allTopicNames().get().values().stream()
          .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition()))).toList();
      Map<TopicPartition, Long> earliest = offsets(admin, partitions, OffsetSpec.earliest());
      Map<TopicPartition, Long> latest = offsets(admin, partitions, OffsetSpec.latest());
      for (String topic : topics) {
        long records = partitions.stream().filter(p -> p.topic().equals(topic))
            .mapToLong(p -> latest.get(p) - earliest.get(p)).sum();
        if (records > 0) {
          throw new IllegalStateException("output topic " + topic + " already holds " + records + " records (an"
              + " earlier backfill?): choose another output topic, or delete it first. To resume a stopped"
              + " backfill instead, set " + StateRecoveryOptions.SAVEPOINT_PATH.key() + " to its savepoint.");
        }
      }
    }
  }

  private static Map<TopicPartition, Long> offsets(Admin admin, List<TopicPartition> partitions, OffsetSpec spec)
      throws ExecutionException, InterruptedException {
    Map<TopicPartition, OffsetSpec> request = partitions.stream().collect(Collectors.toMap(Function.identity(), p -> spec));
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

  /** E.g. {@code [#########...............]  38%  12,345 / 32,100 records, read up to 2025-11-25T10:32:10Z of 2025-11-25T12:00:00Z}. */
  static String progressLine(InputRange.Position position, Instant to) {
    int filled = (int) Math.round(Math.min(1, position.fraction()) * BAR_WIDTH);
    return "[%s%s] %3d%%  %,d / %,d records, read up to %s of %s".formatted(
        "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), Math.round(position.fraction() * 100),
        position.read(), position.target(), position.reachedUpTo().truncatedTo(ChronoUnit.SECONDS),
        to.truncatedTo(ChronoUnit.SECONDS));
  }
}
