package io.strawless.pipeline.kernels;

import com.aparapi.Kernel;
import com.aparapi.device.Device;

/**
 * Base of the credit kernels. Each work-item computes {@link #itemsPerWorkItem} consecutive items (a
 * trajectory, a group or a step each) through {@link #compute(int)}, so the plain-Java backend runs
 * exactly the code that Aparapi translates to OpenCL. Ranges are padded to whole work-groups: items
 * from {@link #itemCount} on do nothing.
 *
 * <p>Kernel arguments are public fields, as Aparapi requires: set them, then hand the kernel to a
 * {@link KernelExecutor}. Only primitives and primitive arrays may be read inside {@code compute}.
 * An instance is not thread-safe (its fields are its arguments): one per scoring thread.
 */
public abstract class CreditKernel extends Kernel {

    /**
     * Number of items of the current call; set by {@link KernelExecutor}. Subclasses must not reuse the name:
     * Aparapi flattens all fields into one OpenCL struct, and a shadowing field corrupts it.
     */
    int itemCount;

    /**
     * Consecutive items per work-item, set by {@link KernelExecutor}: 1 on OpenCL; on Aparapi's thread pool
     * a thread's whole share, because the pool runs one thread per work-item of a group and deals the items
     * out round-robin, so neighbouring items (and their cache lines) would go to different threads.
     */
    int itemsPerWorkItem = 1;

    /** The one device Aparapi may pick for this instance (null: any); set by {@link KernelExecutor}. */
    private Device onlyDevice;

    abstract void compute(int item);

    @Override
    public void run() {
        int first = getGlobalId() * itemsPerWorkItem;
        int end = Math.min(first + itemsPerWorkItem, itemCount);
        for (int item = first; item < end; item++) {
            compute(item);
        }
    }

    /**
     * Aparapi chooses devices per kernel class; this keeps each instance on its executor's device, so a
     * JTP instance never wanders onto OpenCL and an OpenCL instance cannot silently move to JTP unnoticed.
     */
    @Override
    public boolean isAllowDevice(Device device) {
        return onlyDevice == null || onlyDevice == device;
    }

    void restrictTo(Device device) {
        onlyDevice = device;
    }
}
