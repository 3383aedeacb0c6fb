package io.strawless.ops.bench;

import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A contender's rate in the middle of its run: records of the steps topic read between the moments a tenth and
 * nine tenths of them had been read, over the wall time between them, with the process CPU time of the same
 * interval. The window is set on the steps topic alone because the contenders do not read the three input topics
 * in proportion: the outcomes' and verdicts' partitions are smaller and drain early, so a window set on all the
 * input records was mostly steps, and steps counted from its records in the input's ratio came out low.
 *
 * <p>Why not the whole run: both contenders make their output visible only when they commit (each checkpoint,
 * each transaction), so a whole run ends at a commit, up to one commit interval after the work did, and starts
 * with the JIT compiling and the pipeline filling. Over a passthrough run of a few seconds that rounding alone
 * moved the rate by a third. In the middle, reading is tied to processing (the job's sources are
 * back-pressured, the passthrough sends what it reads), so this is the rate a long-running deployment sustains.
 */
final class SustainedRate {

    static final double FROM = 0.1;
    static final double TO = 0.9;
    private static final long POLL_MILLIS = 5;
    private static final Duration REPORT_EVERY = Duration.ofSeconds(3);
    /**
     * How long a contender may read nothing, its first record included, before the bench gives up on it: the one
     * limit of the job's and the passthrough's waits.
     */
    static final Duration STALL_LIMIT = Duration.ofSeconds(120);
    /**
     * The shortest window measured. The process CPU time the JVM reports on Linux moves in 10 ms clock ticks, so
     * a window of a few milliseconds could measure no CPU at all; over 100 ms a tick is at most a tenth.
     */
    private static final Duration SHORTEST = Duration.ofMillis(100);

    /** What the middle of a run measured: {@code stepRecords} read in {@code seconds}, with the CPU time spent. */
    record Measured(
            long stepRecords,
            double seconds,
            double cpuSeconds,
            List<CpuWindow.ThreadCpu> threads,
            double jitCpuSeconds) {}

    private SustainedRate() {}

    /**
     * Waits until nine tenths of the {@code total} records of the steps topic have been read and returns the middle
     * of the run. Call it when the run has read its first record.
     *
     * @param read records of the steps topic read so far (exact, not sampled)
     */
    static Measured measure(LongSupplier read, long total, BenchKafka.Liveness alive, Progress progress, String who)
            throws Exception {
        CpuWindow run = CpuWindow.open();
        Waiter waiter = new Waiter(read, total, alive, progress, who);
        long count = waiter.await((long) (total * FROM));
        if (count < (long) (total * TO)) {
            CpuWindow window = CpuWindow.open();
            long start = count;
            count = waiter.await((long) (total * TO));
            CpuWindow.Elapsed elapsed = window.close();
            if (elapsed.seconds() >= SHORTEST.toNanos() / 1e9) {
                return new Measured(
                        count - start, elapsed.seconds(), elapsed.cpuSeconds(), elapsed.threads(), elapsed.jitCpuSeconds());
            }
        }
        // Too little input to have a middle the CPU clock can measure (a smoke test's: the whole middle can arrive
        // within one poll, or a few milliseconds): the run from its first record stands for it, held open for
        // the shortest window.
        Thread.sleep(Math.max(0, SHORTEST.toMillis() - run.millisSoFar()));
        CpuWindow.Elapsed elapsed = run.close();
        return new Measured(
                read.getAsLong(), elapsed.seconds(), elapsed.cpuSeconds(), elapsed.threads(), elapsed.jitCpuSeconds());
    }

    /** Polls the records read, reports progress now and then, and fails when the contender fails or stalls. */
    private static final class Waiter {
        private final LongSupplier read;
        private final long total;
        private final BenchKafka.Liveness alive;
        private final Progress progress;
        private final String who;
        private long nextReport = System.nanoTime() + REPORT_EVERY.toNanos();

        Waiter(LongSupplier read, long total, BenchKafka.Liveness alive, Progress progress, String who) {
            this.read = read;
            this.total = total;
            this.alive = alive;
            this.progress = progress;
            this.who = who;
        }

        /** Returns the records read once they reach {@code target}. */
        long await(long target) throws Exception {
            long lastCount = -1;
            long lastChange = System.nanoTime();
            long count;
            while ((count = read.getAsLong()) < target) {
                alive.check();
                long now = System.nanoTime();
                if (count != lastCount) {
                    lastCount = count;
                    lastChange = now;
                } else if (now - lastChange > STALL_LIMIT.toNanos()) {
                    throw new IllegalStateException(who + " read no record of the steps topic for "
                            + STALL_LIMIT.toSeconds() + " s (" + count + " of " + total + ")");
                }
                if (now > nextReport) {
                    progress.line("%s: %,d of %,d records of the steps topic read", who, count, total);
                    nextReport += REPORT_EVERY.toNanos();
                }
                Thread.sleep(POLL_MILLIS);
            }
            return count;
        }
    }
}
