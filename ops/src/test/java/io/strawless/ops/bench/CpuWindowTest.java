package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.util.FileUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JVM's GC and JIT threads' CPU time in a window, from snapshots of a /proc/self/task-like directory. */
class CpuWindowTest {

    /**
     * The JVM ends a compiler thread when the compile queue shrinks, and starts one when it grows. The group's total
     * then falls while its other threads work: taken as one number, the whole group's time in the window was lost.
     * Thread by thread, the threads that lived through the window count their difference, a new one counts whole,
     * and only the ended one's time in the window is lost.
     */
    @Test
    void aCompilerThreadThatEndsInTheWindowLosesOnlyItsOwnTime(@TempDir Path tasks) throws IOException {
        task(tasks, 101, "C2 CompilerThre", 5_000);
        task(tasks, 102, "C1 CompilerThre", 1_000);
        task(tasks, 103, "C2 CompilerThre", 3_000); // ends in the window
        task(tasks, 201, "GC Thread#0", 2_000);
        task(tasks, 301, "main", 9_000); // a Java thread: counted through the Java API, not here
        Map<Long, CpuWindow.JvmThread> start = CpuWindow.jvmThreads(tasks);

        task(tasks, 101, "C2 CompilerThre", 5_500);
        task(tasks, 102, "C1 CompilerThre", 1_200);
        FileUtils.deleteDirectory(tasks.resolve("103").toFile());
        task(tasks, 104, "C2 CompilerThre", 400); // started in the window
        task(tasks, 201, "GC Thread#0", 2_100);
        task(tasks, 301, "main", 9_500);
        Map<Long, CpuWindow.JvmThread> end = CpuWindow.jvmThreads(tasks);

        assertEquals(
                Map.of(CpuWindow.JIT_THREADS, (5_500L - 5_000) + (1_200 - 1_000) + 400, CpuWindow.GC_THREADS, 100L),
                CpuWindow.jvmCpuBetween(start, end));
    }

    /** A new thread that got an ended one's id has less CPU time than the old one had: it counts whole. */
    @Test
    void aReusedThreadIdCountsAsANewThread() {
        Map<Long, CpuWindow.JvmThread> start = Map.of(7L, new CpuWindow.JvmThread(CpuWindow.JIT_THREADS, 3_000));
        Map<Long, CpuWindow.JvmThread> end = Map.of(7L, new CpuWindow.JvmThread(CpuWindow.JIT_THREADS, 250));
        assertEquals(Map.of(CpuWindow.JIT_THREADS, 250L), CpuWindow.jvmCpuBetween(start, end));
    }

    /** One thread as /proc lists it: its name, and its CPU nanoseconds first in its scheduler statistics. */
    private static void task(Path tasks, long id, String name, long cpuNanos) throws IOException {
        Path task = Files.createDirectories(tasks.resolve(Long.toString(id)));
        Files.writeString(task.resolve("comm"), name + "\n");
        Files.writeString(task.resolve("schedstat"), cpuNanos + " 12345 67\n");
    }
}
