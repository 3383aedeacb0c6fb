package io.strawless.ops.bench;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The machine's memory bandwidth for scoring, measured in plain Java on arrays shaped like a packed micro-batch:
 * per step a reward and a value (double) and a trainable flag (int) in, an advantage and a return (double) out.
 * Both passes run on every core, as the jtp and OpenCL backends do, and touch each byte once. Where the arrays
 * fit in the processor's last-level cache, this is that cache's bandwidth, and so is the kernels'.
 */
final class MemoryBandwidth {

    private static final int READ_BYTES_PER_STEP = Double.BYTES * 2 + Integer.BYTES;
    private static final int READ_WRITE_BYTES_PER_STEP = Double.BYTES * 4;
    private static final int CHUNKS_PER_CORE = 4;

    private final double[] reward;
    private final double[] value;
    private final int[] trainable;
    private final double[] advantage;
    private final double[] ret;
    private final int chunks = Runtime.getRuntime().availableProcessors() * CHUNKS_PER_CORE;
    /** Keeps the JIT from dropping the read pass as dead code. */
    private volatile long sink;

    /**
     * Bytes per second of both passes.
     *
     * @param readBytesPerSecond streaming read: every bit of the reward, value and trainable arrays ored together
     * @param readWriteBytesPerSecond streaming read and write: advantage and return computed from reward and value
     */
    record Figures(double readBytesPerSecond, double readWriteBytesPerSecond) {

        /**
         * The faster of the two passes: what kernels that stream their arrays once could reach. (The read pass ends
         * in a reduction, which the JIT vectorizes less well than the read+write pass, so either may win.)
         */
        double boundBytesPerSecond() {
            return Math.max(readBytesPerSecond, readWriteBytesPerSecond);
        }
    }

    /** Arrays of {@code steps} steps, filled with non-zero numbers so that no pass can skip anything. */
    MemoryBandwidth(int steps) {
        reward = new double[steps];
        value = new double[steps];
        trainable = new int[steps];
        advantage = new double[steps];
        ret = new double[steps];
        for (int s = 0; s < steps; s++) {
            reward[s] = s % 7 * 0.25;
            value[s] = s % 5 * 0.5;
            trainable[s] = s % 4 == 3 ? 0 : 1;
        }
    }

    /** The median of {@code iterations} runs of each pass, after warming it up for {@code warmupNanos}. */
    Figures measure(long warmupNanos, int iterations) {
        int steps = reward.length;
        double readNanos = medianNanos(this::read, warmupNanos, iterations);
        double readWriteNanos = medianNanos(this::readWrite, warmupNanos, iterations);
        return new Figures((double) READ_BYTES_PER_STEP * steps / readNanos * 1e9,
                (double) READ_WRITE_BYTES_PER_STEP * steps / readWriteNanos * 1e9);
    }

    /**
     * Median wall time of {@code iterations} runs of {@code task}, after untimed runs for at least {@code
     * warmupNanos} (and at least one): warming up by time rather than by count, because on a busy machine the
     * JIT's background compilation can take longer than any fixed number of runs.
     */
    static double medianNanos(Runnable task, long warmupNanos, int iterations) {
        long warmupEnd = System.nanoTime() + warmupNanos;
        do {
            task.run();
        } while (System.nanoTime() < warmupEnd);
        long[] nanos = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            task.run();
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        return iterations % 2 == 1 ? nanos[iterations / 2] : (nanos[iterations / 2 - 1] + nanos[iterations / 2]) / 2.0;
    }

    private void read() {
        sink = IntStream.range(0, chunks).parallel().mapToLong(this::readChunk).reduce(0, (x, y) -> x | y);
    }

    private void readWrite() {
        IntStream.range(0, chunks).parallel().forEach(this::readWriteChunk);
    }

    /**
     * Ors the bits of every number rather than summing them: the JIT vectorizes an or, but not a sum of doubles
     * (it may not reorder one), and a scalar sum would measure the adder rather than the memory.
     */
    private long readChunk(int chunk) {
        int to = start(chunk + 1);
        long bits = 0;
        for (int s = start(chunk); s < to; s++) {
            bits |= Double.doubleToRawLongBits(reward[s]);
        }
        for (int s = start(chunk); s < to; s++) {
            bits |= Double.doubleToRawLongBits(value[s]);
        }
        for (int s = start(chunk); s < to; s++) {
            bits |= trainable[s];
        }
        return bits;
    }

    private void readWriteChunk(int chunk) {
        for (int s = start(chunk), to = start(chunk + 1); s < to; s++) {
            advantage[s] = reward[s] - value[s];
            ret[s] = reward[s];
        }
    }

    private int start(int chunk) {
        return (int) ((long) reward.length * chunk / chunks);
    }
}
