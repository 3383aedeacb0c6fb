package io.strawless.pipeline.kernels;

import com.aparapi.Range;
import com.aparapi.device.Device;
import com.aparapi.device.JavaDevice;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.internal.kernel.KernelManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs credit kernels on one backend: an OpenCL device (GPU, or CPU through PoCL), Aparapi's Java
 * thread pool, or plain loops in the calling thread.
 *
 * <p>Aparapi falls back silently: a kernel it cannot translate, or a device that fails, runs on its
 * Java thread pool with at most a java.util.logging warning. The OpenCL backend therefore checks
 * {@code isRunningCL()} after every call and throws {@link OpenClFailureException} when the kernel did
 * not run on OpenCL, so the caller can treat the fallback as an event.
 */
public final class KernelExecutor {

    /** Where kernels run. */
    public enum Backend {
        OPENCL("opencl"),
        JTP("jtp"),
        JAVA("java");

        private final String configValue;

        Backend(String configValue) {
            this.configValue = configValue;
        }

        @Override
        public String toString() {
            return configValue;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(KernelExecutor.class);
    private static final int OPENCL_WORK_GROUP = 64;
    /** The cores this JVM may use: jtp runs a thread on each. */
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    private final Backend backend;
    private final OpenCLDevice device;

    private KernelExecutor(Backend backend, OpenCLDevice device) {
        this.backend = backend;
        this.device = device;
    }

    public static KernelExecutor java() {
        return new KernelExecutor(Backend.JAVA, null);
    }

    public static KernelExecutor javaThreadPool() {
        return new KernelExecutor(Backend.JTP, null);
    }

    public static KernelExecutor openCl(OpenCLDevice device) {
        return new KernelExecutor(Backend.OPENCL, device);
    }

    /**
     * The OpenCL device to use: the first GPU, else the first other device (PoCL's CPU device); empty
     * when no OpenCL runtime is installed (then Aparapi's native side finds no platform, or cannot load).
     */
    public static Optional<OpenCLDevice> findOpenClDevice() {
        return DeviceDiscovery.DEVICE;
    }

    /**
     * Asks the OpenCL runtime once per JVM. Aparapi's native platform query is not thread-safe: two
     * scoring subtasks opening at once crashed the JVM (SIGSEGV in OpenCLJNI.getPlatforms). Class
     * initialisation runs exactly once, under the JVM's own lock.
     */
    private static final class DeviceDiscovery {
        static final Optional<OpenCLDevice> DEVICE = discover();

        private static Optional<OpenCLDevice> discover() {
            if (!signalChainingInPlace()) {
                LOG.warn("OpenCL runtimes built on LLVM (PoCL among them) replace the JVM's SIGSEGV handler when they "
                        + "open a device, and the JVM then dies at a random later moment (\"Segmentation fault\", no "
                        + "hs_err file). Start java with LD_PRELOAD=<java.home>/lib/libjsig.so, as ops/strawless, the "
                        + "tests and ops/deploy do; this JVM runs without it.");
            }
            try {
                List<OpenCLDevice> gpus = OpenCLDevice.listDevices(Device.TYPE.GPU);
                if (!gpus.isEmpty()) {
                    return Optional.of(gpus.get(0));
                }
                return OpenCLDevice.listDevices(null).stream().findFirst();
            } catch (RuntimeException | LinkageError noRuntime) {
                // Mostly no OpenCL loader or platform installed, which the scorer's warning says how to fix; the
                // cause tells an installed runtime that fails (a broken ICD, a library of another architecture).
                LOG.info("no OpenCL device: the runtime could not be queried: {}", noRuntime.toString());
                return Optional.empty();
            }
        }
    }

    /**
     * Whether the JDK's signal-chaining library is loaded: with it, a native library that installs its own
     * signal handlers gets them chained behind the JVM's instead of in their place. Linux only; elsewhere
     * (no /proc) this says yes rather than warn about what it cannot see.
     */
    static boolean signalChainingInPlace() {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return true;
        }
        try (var lines = Files.lines(maps)) {
            return lines.anyMatch(line -> line.endsWith("/libjsig.so"));
        } catch (IOException | java.io.UncheckedIOException e) {
            return true;
        }
    }

    public Backend backend() {
        return backend;
    }

    /**
     * How many of the host's cores one call keeps busy: one for java and for an OpenCL GPU (the calling thread runs
     * the loops, or waits), every core this JVM may use for jtp and for an OpenCL CPU device (PoCL spreads the work
     * items over a thread per compute unit, which counts the machine's cores; a container's CPU limit caps what they
     * get, as it caps {@code availableProcessors}). In a job those cores are the other subtasks' too.
     */
    public int hostCores() {
        return switch (backend) {
            case JAVA -> 1;
            case JTP -> CORES;
            case OPENCL -> device.getType() == Device.TYPE.CPU
                    ? Math.max(1, Math.min(device.getMaxComputeUnits(), CORES))
                    : 1;
        };
    }

    /** The backend, with the OpenCL device and platform, e.g. "opencl: pthread-skylake (Portable Computing ...)". */
    public String description() {
        if (device == null) {
            return backend.toString();
        }
        return backend + ": " + device.getName() + " (" + device.getOpenCLPlatform().getName() + ")";
    }

    /** Runs {@code kernel} for items {@code 0 .. items-1} and returns when all are done. */
    public void execute(CreditKernel kernel, int items) {
        kernel.itemCount = items;
        kernel.itemsPerWorkItem = 1;
        if (items == 0) {
            return;
        }
        switch (backend) {
            case JAVA -> {
                for (int item = 0; item < items; item++) {
                    kernel.compute(item);
                }
            }
            case JTP -> {
                // One group of one work-item per thread, each with a contiguous share of the items.
                int threads = Math.min(CORES, items);
                kernel.itemsPerWorkItem = (items + threads - 1) / threads;
                kernel.restrictTo(JavaDevice.THREAD_POOL);
                kernel.execute(Range.create(threads, threads));
            }
            case OPENCL -> executeOnOpenCl(kernel, items);
        }
    }

    private void executeOnOpenCl(CreditKernel kernel, int items) {
        kernel.restrictTo(device);
        int workGroup = Math.min(OPENCL_WORK_GROUP, device.getMaxWorkGroupSize());
        try {
            kernel.execute(Range.create(device, roundUp(items, workGroup), workGroup));
        } catch (RuntimeException | LinkageError | AssertionError e) {
            // Aparapi reports a device it does not accept with an AssertionError, native trouble with LinkageErrors.
            throw new OpenClFailureException(kernel.getClass().getSimpleName() + " failed on " + device.getName(), e);
        }
        if (!kernel.isRunningCL()) {
            throw new OpenClFailureException(kernel.getClass().getSimpleName() + " ran on " + fallbackDevice(kernel)
                    + " instead of OpenCL device " + device.getName(), null);
        }
    }

    /**
     * Where Aparapi ran a kernel it could not run on OpenCL, and the devices it gave up on, in words. Built with
     * care: the failure must reach the scorer, which falls back to java, not an exception from describing it.
     */
    private static String fallbackDevice(CreditKernel kernel) {
        try {
            return kernel.getTargetDevice().getShortDescription() + " (failed devices: "
                    + KernelManager.instance().getPreferences(kernel).getFailedDevices() + ")";
        } catch (RuntimeException e) {
            return "another device (" + e + " while asking which)";
        }
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /** The OpenCL device failed or Aparapi fell back from it; the numbers of that call cannot be trusted. */
    public static final class OpenClFailureException extends RuntimeException {
        OpenClFailureException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
