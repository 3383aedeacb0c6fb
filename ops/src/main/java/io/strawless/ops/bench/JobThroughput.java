package io.strawless.ops.bench;

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
    private static final Duration STALL_LIMIT = Duration.ofSeconds(120);
    /** Entries of each kind the printed profile lists; the recording written to --profile holds them all. */
    private static final int PROFILE_TOP = 15;

    private JobThroughput() {}

    /**
     * @param profileFile where to write a JFR recording of the window, or null for none; its summary is printed
     */
    static Result run(
            BenchCluster cluster,
            Configuration jobConf,
            int parallelism,
            Map<TopicPartition, Long> ends,
            long steps,
            Progress progress,
            Path profileFile,
            PrintWriter out)
            throws Exception {
        try (JobRun job = JobRun.start(cluster, jobConf)) {
            progress.line("job p%d running; waiting for its first record", parallelism);
            while (job.recordsIn() == 0) {
                job.failIfEnded();
                Thread.sleep(20);
            }
            Profile profile = profileFile == null ? null : Profile.start();
            long runStart = System.nanoTime();
            long records = ends.values().stream().mapToLong(Long::longValue).sum();
            String who = "job p" + parallelism;
            SustainedRate.Measured middle =
                    SustainedRate.measure(job::recordsIn, records, job::failIfEnded, progress, who);
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
                    new Throughput("job", parallelism, steps, records, seconds, middle, batchedSteps), summary);
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
            } else if (System.nanoTime() - lastChange > STALL_LIMIT.toNanos()) {
                throw new IllegalStateException(
                        who + " read no input for " + STALL_LIMIT.toSeconds() + " s (" + read + " of " + records + ")");
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
