package io.strawless.ops.bench;

import io.strawless.ops.demo.JobMetrics;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.TopicPartition;

/**
 * The contender: the Strawless job reading the preloaded records from the earliest offset, with exactly-once
 * sinks. Its rate comes from the middle of the run ({@link SustainedRate}). The run starts when the job's first
 * record has been read (so the job's deployment, which the passthrough's clients do not have, is left out) and
 * ends when the first checkpoint that began after the job had read every record completes: that checkpoint's
 * barrier followed the last record through every operator, so by then every record has been processed and what
 * the job made of it is committed or held in checkpointed state. Then the job is cancelled.
 *
 * <p>Why not the consumer group's committed offsets, as for the passthrough: Flink's Kafka source commits them
 * between polls, and once the topics are drained a poll waits up to 10 s for records that never come, so the
 * last commit lags the checkpoint that it belongs to by up to 10 s.
 */
final class JobThroughput {

    private static final long POLL_MILLIS = 10;
    private static final Duration REPORT_EVERY = Duration.ofSeconds(3);
    /** Entries of each kind the printed profile lists; the recording written to --profile holds them all. */
    private static final int PROFILE_TOP = 15;

    private JobThroughput() {}

    /**
     * @param steps       steps on the steps topic
     * @param stepRecords records on the steps topic, the steps' malformed siblings included
     * @param profileFile where to write a JFR recording of the window, or null for none; its summary is printed
     */
    static Result run(
            BenchCluster cluster,
            Configuration jobConf,
            int parallelism,
            Map<TopicPartition, Long> ends,
            long steps,
            long stepRecords,
            Progress progress,
            Path profileFile,
            PrintWriter out)
            throws Exception {
        try (JobRun job = JobRun.start(cluster, jobConf)) {
            String who = "job p" + parallelism;
            progress.line("%s running; waiting for its first record", who);
            awaitFirstRecord(job, who);
            Profile profile = profileFile == null ? null : Profile.start();
            long runStart = System.nanoTime();
            long records = ends.values().stream().mapToLong(Long::longValue).sum();
            SustainedRate.Measured middle =
                    SustainedRate.measure(job::stepRecordsIn, stepRecords, job::failIfEnded, progress, who);
            awaitAllRead(job, records, progress, who);
            // The checkpoint in progress now may have begun before the last record; the one after it did not.
            long checkpointsWhenRead = job.completedCheckpoints();
            while (job.completedCheckpoints() < checkpointsWhenRead + 2) {
                job.failIfEnded();
                Thread.sleep(POLL_MILLIS);
            }
            double seconds = (System.nanoTime() - runStart) / 1e9;
            Profile.Summary summary = null;
            if (profile != null) {
                summary = profile.stop(profileFile, PROFILE_TOP);
                Profile.print(summary, out);
            }
            long batchedSteps = job.batchedSteps();
            return new Result(
                    new Throughput(
                            "job",
                            parallelism,
                            steps,
                            stepRecords,
                            records,
                            seconds,
                            middle,
                            batchedSteps,
                            profile != null),
                    summary);
        }
    }

    /**
     * Waits for the job's ledger to count its first input record. The ledger's counters reach the bench only through
     * the {@link JobMetrics} reporter; {@code BenchCommand} refuses a {@code metrics.reporters} without it, and this
     * limit stops a job that reads nothing all the same, rather than waiting for ever.
     */
    private static void awaitFirstRecord(JobRun job, String who) throws Exception {
        long deadline = System.nanoTime() + SustainedRate.STALL_LIMIT.toNanos();
        while (job.recordsIn() == 0) {
            job.failIfEnded();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(who + " counted no input record in its ledger within "
                        + SustainedRate.STALL_LIMIT.toSeconds() + " s of running: its source read nothing from the preloaded"
                        + " topics, or its metrics did not reach the bench (" + JobMetrics.NOT_REPORTED_FIX + ")");
            }
            Thread.sleep(20);
        }
    }

    private static void awaitAllRead(JobRun job, long records, Progress progress, String who) throws Exception {
        long lastRead = -1;
        long lastChange = System.nanoTime();
        long nextReport = System.nanoTime() + REPORT_EVERY.toNanos();
        for (long read = job.recordsIn(); read < records; read = job.recordsIn()) {
            job.failIfEnded();
            if (read != lastRead) {
                lastRead = read;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > SustainedRate.STALL_LIMIT.toNanos()) {
                throw new IllegalStateException(
                        who + " read no input for " + SustainedRate.STALL_LIMIT.toSeconds() + " s (" + read + " of " + records + ")");
            }
            if (System.nanoTime() > nextReport) {
                progress.line("%s: %,d of %,d input records read", who, read, records);
                nextReport += REPORT_EVERY.toNanos();
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** A job run's figures, and its profile when one was recorded. */
    record Result(Throughput throughput, Profile.Summary profile) {}
}
