package io.strawless.pipeline;

import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.state.KeyedStateBackend;

/**
 * A gauge of the units of work a keyed stage holds in its state: open trajectories in assembly, groups waiting
 * for their members in grouping.
 *
 * <p>Flink cannot count keys cheaply from a reporter's thread, and metrics are not checkpointed, so the stage
 * counts as it opens and closes work, and {@link DrainingKeyedProcessOperator} has it recount from the restored
 * state once when a task starts (after a restart, a rescale or a savepoint).
 */
public final class OpenWork implements Gauge<Long> {

    /** A keyed function whose open work survives in its state, and so must be recounted on restore. */
    public interface Recounted {
        /** Counts the open work in the restored state; called once on the task thread before any input. */
        long countOpenWork(KeyedStateBackend<?> backend) throws Exception;

        /** The gauge the count goes to. */
        OpenWork openWork();
    }

    // Written by the task thread only; volatile so that reporters read a current value.
    private volatile long count;

    public void opened() {
        count++;
    }

    public void closed() {
        count--;
    }

    void restored(long openWork) {
        count = openWork;
    }

    @Override
    public Long getValue() {
        return count;
    }
}
