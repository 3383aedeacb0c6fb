package io.strawless.ops.demo;

import io.strawless.connectors.topics.KafkaAdmin;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.ops.LocalCheckpoints;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.SyntheticFleet;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FileUtils;

/**
 * One end-to-end run, shared by {@code strawless demo} and the integration tests: provision the topics,
 * start the job on a local Flink MiniCluster, let the synthetic fleet send its script, wait until the job
 * has read everything, stop it with a draining savepoint, and read what it published as a trainer would.
 *
 * <p>The job is unbounded, as in production, so the run decides when it is over: once the job's consumer
 * group has committed the end offset of every input partition (the source commits on each completed
 * checkpoint), the job is stopped with {@code --drain}. Draining emits the maximal watermark, so every
 * event-time timer fires (each trajectory still waiting for its outcome times out into the unscored
 * topic), and the final savepoint commits the last Kafka transactions.
 *
 * <p>A run may inject {@link Faults}: task failures, after which the restart strategy restores the last
 * checkpoint, and a stop with a savepoint midway, after which a new job resumes from it. The output must
 * not change (see {@link ExactlyOnceCheck}).
 */
public final class DemoRun {

  /** Checkpoints commit the job's Kafka transactions, so their interval sets how soon output is visible. */
  public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(2);
  /**
   * With injected faults checkpoints come more often, so that each attempt between two failures completes
   * some (the next one restores real progress) and the savepoint-resume falls midway even in short runs.
   */
  public static final Duration FAULTS_CHECKPOINT_INTERVAL = Duration.ofMillis(500);
  private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(3);
  /** While input is left, the job must commit further offsets at least this often, or the run gives up. */
  private static final Duration STALL_LIMIT = Duration.ofSeconds(90);
  private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(2);
  /** Pause between an injected failure and the restart: short, the drill is about state, not back-off. */
  private static final Duration RESTART_DELAY = Duration.ofMillis(500);

  private DemoRun() {}

  /**
   * Faults to inject.
   *
   * @param injectedFailures task failures ({@code debug.inject-failures}); the restart strategy is
   *                         {@code fixed-delay} unless configured otherwise
   * @param savepointResume  whether to stop the job with a savepoint (without draining) once about half
   *                         the input is processed, and resume a new job from it
   */
  public record Faults(int injectedFailures, boolean savepointResume) {
    public static final Faults NONE = new Faults(0, false);

    public Faults {
      if (injectedFailures < 0) {
        throw new IllegalArgumentException("inject-failures must be at least 0, was " + injectedFailures);
      }
    }

    public boolean any() {
      return injectedFailures > 0 || savepointResume;
    }
  }

  /**
   * @param script         what the fleet sent (its ledger is the tests' oracle)
   * @param recordsIn      records on each input topic, counted on the broker, by topic name
   * @param output         everything the job published, read committed
   * @param reconciliation where each input record ended
   * @param ingest         from the fleet's first send until the job had processed and checkpointed every
   *                       input record (an aligned checkpoint covers everything before its barrier, in every
   *                       operator), to within one checkpoint
   * @param faults         the faults injected
   * @param restarts       restarts of the job by its restart strategy (a resume from a savepoint is not one)
   * @param resumedAfter   input records the first job had processed and checkpointed when it was stopped
   *                       with a savepoint; 0 without a resume
   * @param metricBooks    the job's ledger counters by input kind; empty when the run restarted or resumed,
   *                       since counters start from 0 with each attempt and job (the committed topics stay
   *                       the durable record)
   */
  public record Result(
      FleetScript script,
      Map<String, Long> recordsIn,
      CreditOutput output,
      Reconciliation reconciliation,
      Duration ingest,
      Faults faults,
      long restarts,
      long resumedAfter,
      List<JobMetrics.Book> metricBooks) {

    /** Records on the steps topic per second of ingest. */
    public double stepsPerSecond() {
      return reconciliation.steps().in() / Math.max(0.001, ingest.toMillis() / 1000.0);
    }
  }

  /** {@link #run(Configuration, FleetScript, Faults, Consumer)} with a script generated now and no faults. */
  public static Result run(Configuration conf, FleetSettings fleetSettings, Consumer<String> log) throws Exception {
    return run(conf, FleetScript.generate(fleetSettings, Instant.now()), Faults.NONE, log);
  }

  /**
   * Runs the whole scenario against the Kafka cluster named in {@code conf} ({@code kafka.bootstrap-servers}).
   * The job runs with {@code conf} (all Strawless and Flink keys apply); checkpointing defaults to
   * {@link #DEFAULT_CHECKPOINT_INTERVAL}, or {@link #FAULTS_CHECKPOINT_INTERVAL} with faults.
   *
   * @param script what the fleet sends once the job runs: the agents have been at work until the script's
   *               end, so the backlog reaches the job at once
   * @param log    receives one line per phase and a progress line every few seconds
   */
  public static Result run(Configuration conf, FleetScript script, Faults faults, Consumer<String> log)
      throws Exception {
    Configuration jobConf = withCheckpointDefault(conf, faults);
    injectFailures(jobConf, faults, script);
    TopicProvisioner.ensureTopics(jobConf);

    SyntheticFleet fleet = new SyntheticFleet(jobConf);
    Path workDir = Files.createTempDirectory("strawless-demo");
    Path savepoints = workDir.resolve("savepoints");
    LocalCheckpoints.defaultDirectory(jobConf, workDir.resolve("checkpoints"));
    try (JobMetrics metrics = JobMetrics.attachTo(jobConf);
        InputOffsets offsets = new InputOffsets(jobConf);
        Progress progress = new Progress(log, fleet, offsets)) {
      progress.phase("starting the job (parallelism " + parallelism(jobConf) + ")");
      JobClient job = start(jobConf);
      Duration ingest;
      long resumedAfter = 0;
      try {
        List<FleetRecord> records = script.records();
        // A savepoint-resume must fall midway whatever the machine's speed: the fleet sends the first half,
        // the job is stopped once it has checkpointed all of it, and the second half arrives while it is down.
        int firstPart = faults.savepointResume() ? records.size() / 2 : records.size();
        progress.phase(String.format(Locale.ROOT, "fleet sending %,d records", firstPart));
        progress.counting(true);
        Instant fleetStart = Instant.now();
        fleet.send(records.subList(0, firstPart));

        if (faults.savepointResume()) {
          progress.phase("fleet paused; waiting until the job has checkpointed the first half"
              + (faults.injectedFailures() > 0 ? " and failed " + faults.injectedFailures() + " times" : ""));
          resumedAfter = awaitHalfway(job, offsets, metrics, faults.injectedFailures(), firstPart);
          progress.phase(String.format(
              Locale.ROOT, "stopping the job with a savepoint (no drain) after %,d input records", resumedAfter));
          String savepoint = stopWithSavepoint(job, savepoints, false);
          job.getJobExecutionResult().get(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);

          progress.phase("resuming a new job from " + savepoint);
          Configuration resumed = new Configuration(jobConf);
          resumed.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
          resumed.set(JobOptions.INJECT_FAILURES, 0); // a new job counts its attempts from 0 again
          progress.phase(String.format(Locale.ROOT, "fleet sending the second half, %,d records, while the job is down",
              records.size() - firstPart));
          fleet.send(records.subList(firstPart, records.size()));
          job = start(resumed);
        }

        progress.phase((faults.savepointResume() ? "" : "fleet done; ")
            + "waiting for the job to process and checkpoint everything");
        awaitCaughtUp(job, offsets);
        ingest = Duration.between(fleetStart, Instant.now());
        progress.counting(false);
        if (metrics.restarts() < faults.injectedFailures()) {
          throw tooFewRestarts(metrics, faults.injectedFailures());
        }

        progress.phase("draining the job (stop with savepoint): open trajectories time out, last transactions commit");
        stopWithSavepoint(job, savepoints, true);
        job.getJobExecutionResult().get(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      } catch (Exception e) {
        job.cancel(); // best effort: leave no job running behind a failed run
        throw e;
      }

      progress.phase("reading the output topics (read_committed)");
      Map<String, Long> recordsIn = offsets.recordsIn();
      CreditOutput output = CreditOutput.readCommitted(jobConf);
      long restarts = metrics.restarts();
      List<JobMetrics.Book> books = faults.any() || restarts > 0 ? List.of() : metrics.books(job.getJobID());
      return new Result(script, recordsIn, output, Reconciliation.of(recordsIn, output, jobConf),
          ingest, faults, restarts, resumedAfter, books);
    } finally {
      FileUtils.deleteDirectoryQuietly(workDir.toFile());
    }
  }

  /**
   * Throws an {@link IllegalArgumentException} that names the key where the job would refuse {@code conf}, or the
   * topics ({@code topics.*}) or the admin client ({@code kafka.client.*}) would, without starting anything: the
   * commands call it before their broker starts, so that a bad setting is a usage error at once rather than a
   * failure after the broker, the topics and the fleet's records.
   */
  public static void checkJobSettings(Configuration conf, Faults faults) {
    Configuration jobConf = withCheckpointDefault(conf, faults);
    StrawlessJob.checkSettings(jobConf);
    TopicProvisioner.checkSettings(jobConf);
    KafkaAdmin.checkSettings(jobConf);
  }

  private static Configuration withCheckpointDefault(Configuration conf, Faults faults) {
    Configuration jobConf = new Configuration(conf);
    if (!jobConf.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)) {
      jobConf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL,
          faults.any() ? FAULTS_CHECKPOINT_INTERVAL : DEFAULT_CHECKPOINT_INTERVAL);
    }
    return jobConf;
  }

  /**
   * Sets the failure knob so that the failures fall in the first half of the input, before a
   * savepoint-resume: each attempt fails after {@code debug.inject-failure-after} records per parallel
   * instance, counted from the checkpoint it restored, so the last failing attempt ends before
   * {@code failures / (2 * (failures + 1))} of the input. The restart strategy must allow the failures.
   */
  private static void injectFailures(Configuration conf, Faults faults, FleetScript script) {
    int failures = faults.injectedFailures();
    if (failures == 0) {
      return;
    }
    conf.set(JobOptions.INJECT_FAILURES, failures);
    if (!conf.contains(JobOptions.INJECT_FAILURE_AFTER)) {
      long perInstance = script.records().size() / parallelism(conf);
      conf.set(JobOptions.INJECT_FAILURE_AFTER, Math.max(1, perInstance / (2L * (failures + 1))));
    }
    if (!conf.contains(RestartStrategyOptions.RESTART_STRATEGY)) {
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, Math.max(5, failures + 2));
      conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, RESTART_DELAY);
    }
  }

  /** The job's parallelism: as configured, else a local environment's default, one per core. */
  private static int parallelism(Configuration conf) {
    return conf.getOptional(CoreOptions.DEFAULT_PARALLELISM).orElse(Runtime.getRuntime().availableProcessors());
  }

  private static JobClient start(Configuration conf) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    StrawlessJob.buildOnKafka(env, conf);
    JobClient job = env.executeAsync(conf.get(JobOptions.JOB_NAME));
    try {
      awaitRunning(job);
    } catch (Exception e) {
      job.cancel();
      throw e;
    }
    return job;
  }

  private static void awaitRunning(JobClient job) throws Exception {
    while (true) {
      JobStatus status = job.getJobStatus().get();
      if (status == JobStatus.RUNNING) {
        return;
      }
      if (status.isGloballyTerminalState()) {
        job.getJobExecutionResult().get(); // throws the job's failure
        throw new IllegalStateException("the job ended before it ran: " + status);
      }
      Thread.sleep(100);
    }
  }

  /**
   * Waits until the job has checkpointed {@code half} the input records and restarted {@code failures}
   * times, and returns the records checkpointed by then.
   */
  private static long awaitHalfway(JobClient job, InputOffsets offsets, JobMetrics metrics, int failures, long half)
      throws Exception {
    while (true) {
      InputOffsets.Position position = offsets.position();
      if (metrics.restarts() >= failures && position.committed() >= half) {
        return position.committed();
      }
      if (position.caughtUp()) {
        throw tooFewRestarts(metrics, failures);
      }
      failIfEnded(job, "the job ended before the savepoint");
      Thread.sleep(250);
    }
  }

  /**
   * Why the job read all its input with fewer restarts than {@code failures} counted: too few failures happened
   * before the end, or the restarts were never reported.
   */
  static IllegalStateException tooFewRestarts(JobMetrics metrics, int failures) {
    if (!metrics.countsRestarts()) {
      return new IllegalStateException("the job's metrics were not reported, so its restarts cannot be counted: "
          + JobMetrics.NOT_REPORTED_FIX);
    }
    return new IllegalStateException("only " + metrics.restarts() + " of " + failures + " injected failures happened"
        + " before the job had read all input: lower " + JobOptions.INJECT_FAILURE_AFTER.key());
  }

  /**
   * Stops the job with a savepoint. Without draining, open trajectories, pending groups and batches stay in
   * the savepoint for the job that resumes from it. Retried while the job's tasks are still (re)starting,
   * when Flink declines to take one.
   */
  private static String stopWithSavepoint(JobClient job, Path savepoints, boolean drain) throws Exception {
    Instant deadline = Instant.now().plus(DRAIN_TIMEOUT);
    while (true) {
      try {
        return job.stopWithSavepoint(drain, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
            .get(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      } catch (ExecutionException declined) {
        failIfEnded(job, "the job ended instead of stopping with a savepoint");
        if (Instant.now().isAfter(deadline)) {
          throw declined;
        }
        Thread.sleep(500);
      }
    }
  }

  private static void awaitCaughtUp(JobClient job, InputOffsets offsets) throws Exception {
    long lastCommitted = -1;
    Instant lastProgress = Instant.now();
    while (true) {
      InputOffsets.Position position = offsets.position();
      if (position.caughtUp()) {
        return;
      }
      if (position.committed() != lastCommitted) {
        lastCommitted = position.committed();
        lastProgress = Instant.now();
      } else if (Duration.between(lastProgress, Instant.now()).compareTo(STALL_LIMIT) > 0) {
        throw new IllegalStateException("the job checkpointed no new input for " + STALL_LIMIT.toSeconds() + " s ("
            + position.lag() + " input records left, job " + job.getJobStatus().get() + ")");
      }
      failIfEnded(job, "the job ended before it read all input");
      Thread.sleep(250);
    }
  }

  private static void failIfEnded(JobClient job, String what) throws Exception {
    JobStatus status;
    try {
      status = job.getJobStatus().get();
    } catch (Exception e) {
      // A job's local MiniCluster shuts down once the job has ended; its result still says how.
      job.getJobExecutionResult().get(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      throw e;
    }
    if (status.isGloballyTerminalState()) {
      job.getJobExecutionResult().get(); // throws the job's failure
      throw new IllegalStateException(what + ": " + status);
    }
  }

  /** Prints the phase when it changes and a progress line every few seconds in between. */
  private static final class Progress implements AutoCloseable {
    private final Consumer<String> log;
    private final SyntheticFleet fleet;
    private final InputOffsets offsets;
    private final Instant start = Instant.now();
    private volatile boolean counting;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "strawless-demo-progress");
      thread.setDaemon(true);
      return thread;
    });

    Progress(Consumer<String> log, SyntheticFleet fleet, InputOffsets offsets) {
      this.log = log;
      this.fleet = fleet;
      this.offsets = offsets;
      long period = PROGRESS_INTERVAL.toMillis();
      ticker.scheduleAtFixedRate(this::tick, period, period, TimeUnit.MILLISECONDS);
    }

    void phase(String phase) {
      log.accept(stamp() + phase);
    }

    /** Whether progress lines count records (while the fleet sends and the job catches up). */
    void counting(boolean counting) {
      this.counting = counting;
    }

    private void tick() {
      if (!counting) {
        return;
      }
      try {
        InputOffsets.Position position = offsets.position();
        log.accept(stamp() + String.format(Locale.ROOT, "fleet sent %,d records; job has checkpointed %,d (%,d to go)",
            fleet.acknowledged(), position.committed(), position.lag()));
      } catch (Exception e) {
        log.accept(stamp() + "(progress unavailable: " + e.getMessage() + ")");
      }
    }

    private String stamp() {
      // Locale.ROOT, as evaluate's own lines, under which these are printed: [   3.0s], never [   3,0s].
      return String.format(Locale.ROOT, "[%6.1fs] ", Duration.between(start, Instant.now()).toMillis() / 1000.0);
    }

    @Override
    public void close() {
      ticker.shutdownNow();
    }
  }
}
