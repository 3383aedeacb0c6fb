package io.strawless.ops.bench;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Wall time and this process's CPU time (all its threads, the in-process broker's included) over a measured
 * window, with the CPU time of its threads grouped by name. CPU time is the figure that survives a shared
 * machine: other processes' load stretches the wall time, not the CPU time this process spends per record.
 */
final class CpuWindow {

    private static final OperatingSystemMXBean OS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final int TOP_THREADS = 8;
    /**
     * Process CPU time no live Java thread accounts for: the garbage collector, the JIT compiler, native threads
     * (PoCL's, when kernels run on OpenCL) and threads that ended within the window.
     */
    static final String OTHER_THREADS = "(GC, JIT, native and ended threads)";

    /** CPU seconds the threads of one name spent in the window; digits in names are folded to #. */
    record ThreadCpu(String threads, double cpuSeconds) {}

    /** What a closed window measured; {@code threads} are the groups that spent most, most first. */
    record Elapsed(double seconds, double cpuSeconds, List<ThreadCpu> threads) {}

    private final long wallStart = System.nanoTime();
    private final long cpuStart = OS.getProcessCpuTime();
    private final Map<Long, Long> threadCpuStart = threadCpu();

    static CpuWindow open() {
        return new CpuWindow();
    }

    /** Threads that end within the window count under {@link #OTHER_THREADS}. */
    Elapsed close() {
        double seconds = (System.nanoTime() - wallStart) / 1e9;
        double cpuSeconds = (OS.getProcessCpuTime() - cpuStart) / 1e9;
        Map<String, Long> byName = new HashMap<>();
        long javaThreads = 0;
        for (Map.Entry<Long, Long> thread : threadCpu().entrySet()) {
            var info = THREADS.getThreadInfo(thread.getKey());
            if (info != null) {
                long spent = thread.getValue() - threadCpuStart.getOrDefault(thread.getKey(), 0L);
                byName.merge(info.getThreadName().replaceAll("\\d+", "#"), spent, Long::sum);
                javaThreads += spent;
            }
        }
        byName.put(OTHER_THREADS, Math.max(0, (long) (cpuSeconds * 1e9) - javaThreads));
        List<ThreadCpu> top = byName.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(TOP_THREADS)
                .map(e -> new ThreadCpu(e.getKey(), e.getValue() / 1e9))
                .toList();
        return new Elapsed(seconds, cpuSeconds, top);
    }

    /** The system load average of the last minute (-1 where the platform has none): context for the figures. */
    static double loadAverage() {
        return OS.getSystemLoadAverage();
    }

    private static Map<Long, Long> threadCpu() {
        Map<Long, Long> cpu = new HashMap<>();
        for (long id : THREADS.getAllThreadIds()) {
            long nanos = THREADS.getThreadCpuTime(id);
            if (nanos >= 0) {
                cpu.put(id, nanos);
            }
        }
        return cpu;
    }
}
