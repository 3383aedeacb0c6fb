package io.strawless.pipeline.batching;

import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.TrainingBatch;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.TimerHeapInternalTimer;

/**
 * Runs {@link ScoreAndBatch} and, with {@code batch.close-at-checkpoint} (the default), closes its pending batches
 * at every checkpoint barrier; on a restore it gives the buckets' reliability models a timer ({@link #open}).
 *
 * <p>A batch becomes visible to {@code read_committed} consumers when the first checkpoint after it was written
 * completes. A batch still pending when a barrier passes would wait a whole checkpoint interval more, however full
 * it is and whatever {@code batch.max-latency} says; closed just before the barrier, it is committed with that
 * checkpoint. So a scored trajectory waits at most for the next checkpoint, where it used to wait for its batch's
 * latency and then for the checkpoint after that.
 *
 * <p>The batches are closed as their flush timer would close them: the function's {@code onTimer} flushes the
 * pending batch of the current key, here each bucket that has one. Operators of a chain prepare for a barrier from
 * its head to its tail, so the batch reaches the chained Kafka writer before the writer flushes and pre-commits
 * its transaction. The timer is made as Flink's timer service makes one ({@code TimerHeapInternalTimer}, internal
 * to Flink): on a Flink upgrade, {@code ScoreAndBatchTest.everyBucketClosesItsBatchAtACheckpoint} (heap and
 * RocksDB) says whether this still holds.
 *
 * <p>A savepoint's barrier closes them too. Flink commits a sink's transactions when a checkpoint completes or a
 * job stops with a savepoint, not for a savepoint taken while the job runs: batches closed at such a barrier become
 * visible with the next checkpoint, as the batches written since the last one do.
 */
public class ScoreAndBatchOperator extends DrainingKeyedProcessOperator<Integer, TrajectoryGroup, TrainingBatch> {

    private static final long serialVersionUID = 1L;

    private final boolean closeAtCheckpoint;

    public ScoreAndBatchOperator(ReadableConfig conf) {
        super(new ScoreAndBatch(conf));
        this.closeAtCheckpoint = conf.get(JobOptions.BATCH_CLOSE_AT_CHECKPOINT);
    }

    /**
     * Gives every restored reliability model a timer at the first watermark, which sets or restores its expiry
     * ({@code reliability.model-idle-ttl}): models saved by a release before the TTL have none, and one saved at a
     * drain has lost its timer. Without it, after a rescale the models of bucket keys no longer used, which no batch
     * touches again, would stay in the state for ever. A bucket per subtask: a few timers.
     */
    @Override
    public void open() throws Exception {
        super.open();
        // The timer service KeyedProcessOperator runs the function's timers with.
        InternalTimerService<VoidNamespace> timers =
                getInternalTimerService("user-timers", VoidNamespaceSerializer.INSTANCE, this);
        List<Integer> buckets;
        KeyedStateBackend<Integer> state = getKeyedStateBackend();
        try (Stream<Integer> keys = state.getKeys(ScoreAndBatch.RELIABILITY, VoidNamespace.INSTANCE)) {
            buckets = keys.toList();
        }
        for (Integer bucket : buckets) {
            setCurrentKey(bucket);
            timers.registerEventTimeTimer(VoidNamespace.INSTANCE, Long.MIN_VALUE + 1);
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        if (!closeAtCheckpoint) {
            return;
        }
        List<Integer> buckets; // collected first: flushing clears the state the keys are read from
        KeyedStateBackend<Integer> state = getKeyedStateBackend();
        try (Stream<Integer> keys = state.getKeys(ScoreAndBatch.PENDING_BATCH, VoidNamespace.INSTANCE)) {
            buckets = keys.toList();
        }
        long now = getProcessingTimeService().getCurrentProcessingTime();
        for (Integer bucket : buckets) {
            setCurrentKey(bucket);
            onProcessingTime(new TimerHeapInternalTimer<>(now, bucket, VoidNamespace.INSTANCE));
        }
    }
}
