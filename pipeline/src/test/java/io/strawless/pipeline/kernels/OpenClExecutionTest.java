package io.strawless.pipeline.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.aparapi.device.Device;
import com.aparapi.device.JavaDevice;
import com.aparapi.device.OpenCLDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Proves the kernels really execute on an OpenCL device, not on Aparapi's silent Java fallback. Needs an
 * OpenCL runtime (ops/bin/install-opencl.sh installs PoCL); without one these tests skip and say so.
 */
class OpenClExecutionTest {

    private OpenCLDevice device;

    @BeforeEach
    void requireOpenCl() {
        device = KernelExecutor.findOpenClDevice().orElse(null);
        Assumptions.assumeTrue(device != null, "no OpenCL runtime on this machine: install one, e.g. "
                + "apt-get install -y pocl-opencl-icd ocl-icd-libopencl1 clinfo (ops/bin/install-opencl.sh)");
    }

    @Test
    void everyKernelExecutesOnTheOpenClDevice() {
        int trajectories = 300;
        for (CreditKernel kernel : kernelsOver(trajectories)) {
            KernelExecutor.openCl(device).execute(kernel, trajectories);

            assertTrue(kernel.isRunningCL(), kernel.getClass().getSimpleName() + " ran on OpenCL");
            assertInstanceOf(OpenCLDevice.class, kernel.getTargetDevice(), kernel.getClass().getSimpleName());
            assertEquals(device, kernel.getTargetDevice());
            System.out.println("OpenCL proof: " + kernel.getClass().getSimpleName() + " isRunningCL()=true on "
                    + kernel.getTargetDevice().getShortDescription() + " (" + device.getName() + ", "
                    + device.getOpenCLPlatform().getName() + " " + device.getOpenCLPlatform().getVersion() + ")");
            kernel.dispose();
        }
    }

    @Test
    void openClComputesWhatPlainJavaComputes() {
        ScanKernel onOpenCl = scan(1000);
        ScanKernel inJava = scan(1000);
        KernelExecutor.openCl(device).execute(onOpenCl, 1000);
        KernelExecutor.java().execute(inJava, 1000);

        assertTrue(onOpenCl.isRunningCL());
        for (int s = 0; s < inJava.advantage.length; s++) {
            assertEquals(inJava.advantage[s], onOpenCl.advantage[s], 1e-9 * Math.max(1, Math.abs(inJava.advantage[s])));
        }
        onOpenCl.dispose();
    }

    @Test
    void javaThreadPoolStaysOffOpenClAndMatchesPlainJavaBitForBit() {
        ScanKernel onPool = scan(500);
        ScanKernel inJava = scan(500);
        KernelExecutor.javaThreadPool().execute(onPool, 500);
        KernelExecutor.java().execute(inJava, 500);

        assertFalse(onPool.isRunningCL());
        assertEquals(JavaDevice.THREAD_POOL, onPool.getTargetDevice());
        assertArrayEquals(inJava.advantage, onPool.advantage);
        onPool.dispose();
    }

    @Test
    void aDeviceAparapiRefusesIsReportedNotSilentlyReplaced() {
        // A device object Aparapi never listed: it refuses it, which must surface as an OpenCL failure.
        OpenCLDevice unknown = new OpenCLDevice(device.getOpenCLPlatform(), 12345L, Device.TYPE.CPU);
        unknown.setMaxWorkGroupSize(64);
        unknown.setMaxWorkItemSize(new int[] {64, 1, 1});
        ScanKernel kernel = scan(10);

        assertThrows(KernelExecutor.OpenClFailureException.class, () -> KernelExecutor.openCl(unknown).execute(kernel, 10));
    }

    @Test
    void theJvmKeepsItsSignalHandlersWhenPoclOpensItsDevice() {
        // PoCL's LLVM installs its SIGSEGV handler over the JVM's when it opens the CPU device; the JVM uses
        // SIGSEGV itself (implicit null checks, safepoints), so it later died at random (bench, demo). The JDK's
        // libjsig, preloaded by the build (surefire), ops/strawless and ops/deploy, chains LLVM's handler behind
        // the JVM's.
        assertTrue(KernelExecutor.signalChainingInPlace(), "libjsig.so is not loaded in this JVM: LD_PRELOAD="
                + System.getenv("LD_PRELOAD"));
    }

    @Test
    void scoringSubtasksMayCompileAndRunKernelsAtTheSameTime() throws Exception {
        // Two scoring subtasks in one task manager open, compile and run their kernels concurrently: Aparapi's
        // native side crashed the JVM (SIGSEGV) under that until the device was discovered once per JVM
        // (KernelExecutor.DeviceDiscovery) and libjsig chained LLVM's signal handlers; kernel calls are not locked.
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<double[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    ScanKernel last = null;
                    for (int round = 0; round < 20; round++) {
                        ScanKernel kernel = scan(200);
                        KernelExecutor.openCl(device).execute(kernel, 200);
                        assertTrue(kernel.isRunningCL());
                        if (last != null) {
                            last.dispose();
                        }
                        last = kernel;
                    }
                    last.dispose();
                    return last.advantage;
                }));
            }
            ScanKernel inJava = scan(200);
            KernelExecutor.java().execute(inJava, 200);
            for (Future<double[]> result : results) {
                double[] advantage = result.get(2, TimeUnit.MINUTES);
                for (int s = 0; s < advantage.length; s++) {
                    assertEquals(inJava.advantage[s], advantage[s], 1e-9 * Math.max(1, Math.abs(inJava.advantage[s])));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One of each kernel, with small but real arguments. */
    private static CreditKernel[] kernelsOver(int items) {
        ScanKernel scan = scan(items);

        GroupMomentsKernel moments = new GroupMomentsKernel();
        moments.x = scan.bootstrap;
        moments.memberStart = new int[items + 1];
        moments.members = new int[items];
        for (int i = 0; i < items; i++) {
            moments.memberStart[i + 1] = i + 1;
            moments.members[i] = i;
        }
        moments.count = new int[items];
        moments.mean = new double[items];
        moments.m2 = new double[items];

        NormalizeKernel normalize = new NormalizeKernel();
        normalize.x = scan.bootstrap;
        normalize.group = new int[items];
        normalize.count = new int[] {items};
        normalize.mean = new double[] {0.5};
        normalize.m2 = new double[] {items / 12.0};
        normalize.subtractMean = 1;
        normalize.scale = NormalizeKernel.SCALE_STD;
        normalize.ddof = 1;
        normalize.epsilon = 1e-6;
        normalize.coefficient = 1;
        normalize.out = new double[items];

        BroadcastKernel broadcast = new BroadcastKernel();
        broadcast.stepStart = scan.stepStart;
        broadcast.trainable = scan.trainable;
        broadcast.trajectoryAdvantage = scan.bootstrap;
        broadcast.trajectoryReturn = scan.bootstrap;
        broadcast.advantage = new double[scan.advantage.length];
        broadcast.ret = new double[scan.advantage.length];

        return new CreditKernel[] {scan, moments, normalize, broadcast};
    }

    /** A GAE scan over {@code trajectories} trajectories of 7 steps, every fourth step not trainable. */
    private static ScanKernel scan(int trajectories) {
        int steps = 7;
        ScanKernel scan = new ScanKernel();
        scan.reward = new double[trajectories * steps];
        scan.value = new double[trajectories * steps];
        scan.trainable = new int[trajectories * steps];
        scan.stepStart = new int[trajectories + 1];
        scan.terminalReward = new double[trajectories];
        scan.bootstrap = new double[trajectories];
        for (int s = 0; s < trajectories * steps; s++) {
            scan.reward[s] = (s % 5) * 0.1;
            scan.value[s] = (s % 3) * 0.2;
            scan.trainable[s] = s % 4 == 3 ? 0 : 1;
        }
        for (int t = 0; t <= trajectories; t++) {
            scan.stepStart[t] = t * steps;
        }
        for (int t = 0; t < trajectories; t++) {
            scan.terminalReward[t] = t % 2;
            scan.bootstrap[t] = (t % 7) / 7.0;
        }
        scan.gamma = 0.99;
        scan.lambda = 0.95;
        scan.useValues = 1;
        scan.advantage = new double[trajectories * steps];
        scan.ret = new double[trajectories * steps];
        return scan;
    }
}
