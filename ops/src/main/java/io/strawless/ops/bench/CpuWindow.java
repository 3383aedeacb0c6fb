package io.strawless.ops.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

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
    /** The JVM's garbage collector threads (G1's), found by their names in /proc on Linux. */
    static final String GC_THREADS = "(JVM: garbage collector)";
    /** The JVM's JIT compiler threads. */
    static final String JIT_THREADS = "(JVM: JIT compiler)";
    /**
     * Process CPU time no live Java thread, and on Linux no GC or JIT thread, accounts for: other JVM threads,
     * native threads (PoCL's, when kernels run on OpenCL) and threads that ended within the window.
     */
    static final String OTHER_THREADS = "(native, other JVM and ended threads)";
    /** Where the kernel lists this process's threads, each with its name and CPU time. */
    private static final Path TASKS = Path.of("/proc/self/task");

    /** A GC or JIT thread of the JVM: its group ({@link #GC_THREADS}, {@link #JIT_THREADS}) and CPU nanoseconds. */
    record JvmThread(String group, long cpuNanos) {}

    /** CPU seconds the threads of one name spent in the window; digits in names are folded to #. */
    record ThreadCpu(String threads, double cpuSeconds) {}

    /**
     * What a closed window measured; {@code threads} are the groups that spent most, most first; {@code jitCpuSeconds}
     * the part of {@code cpuSeconds} the JIT compiler's threads spent (0 where /proc does not tell).
     */
    record Elapsed(double seconds, double cpuSeconds, List<ThreadCpu> threads, double jitCpuSeconds) {}

    private final long wallStart = System.nanoTime();
    private final long cpuStart = OS.getProcessCpuTime();
    private final Map<Long, Long> threadCpuStart = threadCpu();
    private final Map<Long, JvmThread> jvmThreadsAtStart = jvmThreads(TASKS);

    static CpuWindow open() {
        return new CpuWindow();
    }

    long millisSoFar() {
        return (System.nanoTime() - wallStart) / 1_000_000;
    }

    /** Threads that end within the window count under {@link #OTHER_THREADS}. */
    Elapsed close() {
        return close(name -> false);
    }

    /**
     * As {@link #close()}, without the CPU time of the threads {@code excluded} names (digits folded to #): for a
     * window where the bench's own threads did work that is not the contender's.
     */
    Elapsed close(Predicate<String> excluded) {
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
        for (Map.Entry<String, Long> jvm : jvmCpuBetween(jvmThreadsAtStart, jvmThreads(TASKS)).entrySet()) {
            byName.put(jvm.getKey(), jvm.getValue());
            javaThreads += jvm.getValue();
        }
        byName.put(OTHER_THREADS, Math.max(0, (long) (cpuSeconds * 1e9) - javaThreads));
        for (String name : List.copyOf(byName.keySet())) {
            if (excluded.test(name)) {
                cpuSeconds -= byName.remove(name) / 1e9;
            }
        }
        List<ThreadCpu> top = byName.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(TOP_THREADS)
                .map(e -> new ThreadCpu(e.getKey(), e.getValue() / 1e9))
                .toList();
        return new Elapsed(seconds, cpuSeconds, top, byName.getOrDefault(JIT_THREADS, 0L) / 1e9);
    }

    /** The threads, one per line, each with its share of {@code cpuSeconds}, as the progress lines print them. */
    static String describe(List<ThreadCpu> threads, double cpuSeconds) {
        StringBuilder text = new StringBuilder();
        for (ThreadCpu t : threads) {
            text.append("%n    %5.1f%% %s".formatted(100 * t.cpuSeconds() / cpuSeconds, t.threads()));
        }
        return text.toString();
    }

    /** The system load average of the last minute (-1 where the platform has none): context for the figures. */
    static double loadAverage() {
        return OS.getSystemLoadAverage();
    }

    /**
     * CPU nanoseconds the JVM's GC and JIT threads spent between two snapshots of {@link #jvmThreads}, by group,
     * thread by thread: the JVM starts and ends compiler threads as the compile queue grows and shrinks, so a group's
     * total can fall while its threads work. A thread that started in between counts whole; one that ended in between
     * is missing from {@code end}, and its time in the window, which /proc no longer shows, falls to
     * {@link #OTHER_THREADS}: the groups' counts are lower bounds.
     */
    static Map<String, Long> jvmCpuBetween(Map<Long, JvmThread> start, Map<Long, JvmThread> end) {
        Map<String, Long> spent = new HashMap<>();
        end.forEach((id, thread) -> {
            JvmThread before = start.get(id);
            // A thread's CPU time only grows: less, or another group, is a new thread that reuses an ended one's id.
            boolean same = before != null
                    && before.group().equals(thread.group())
                    && before.cpuNanos() <= thread.cpuNanos();
            spent.merge(thread.group(), thread.cpuNanos() - (same ? before.cpuNanos() : 0), Long::sum);
        });
        return spent;
    }

    /**
     * The JVM's own GC and JIT threads, which no Java API lists, by thread id, from each thread's name and scheduler
     * statistics under {@code tasks} ({@code /proc/self/task} on Linux; elsewhere none, and their time stays in
     * {@link #OTHER_THREADS}).
     */
    static Map<Long, JvmThread> jvmThreads(Path tasks) {
        Map<Long, JvmThread> threads = new HashMap<>();
        try (DirectoryStream<Path> listing = Files.newDirectoryStream(tasks)) {
            for (Path task : listing) {
                try {
                    String name = Files.readString(task.resolve("comm")).strip();
                    String group = name.startsWith("GC Thread") || name.startsWith("G1 ")
                            ? GC_THREADS
                            : name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")
                                    ? JIT_THREADS
                                    : null;
                    if (group != null) {
                        // schedstat: nanoseconds on a CPU, nanoseconds waiting for one, time slices.
                        String schedstat = Files.readString(task.resolve("schedstat"));
                        threads.put(
                                Long.parseLong(task.getFileName().toString()),
                                new JvmThread(group, Long.parseLong(schedstat.substring(0, schedstat.indexOf(' ')))));
                    }
                } catch (IOException | RuntimeException e) {
                    // The thread ended between the listing and the read.
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return threads;
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
