package io.strawless.pipeline.batching;

import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.TrainingBatch;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.TimerHeapInternalTimer;

/**
 * Runs {@link ScoreAndBatch} and closes its pending batches at every checkpoint barrier.
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
 * its transaction.
 */
public class ScoreAndBatchOperator extends DrainingKeyedProcessOperator<Integer, TrajectoryGroup, TrainingBatch> {

    private static final long serialVersionUID = 1L;

    public ScoreAndBatchOperator(ReadableConfig conf) {
        super(new ScoreAndBatch(conf));
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        List<Integer> buckets; // collected first: flushing clears the state the keys are read from
        try (Stream<Integer> keys = this.<Integer>getKeyedStateBackend().getKeys(ScoreAndBatch.PENDING_BATCH, VoidNamespace.INSTANCE)) {
            buckets = keys.toList();
        }
        long now = getProcessingTimeService().getCurrentProcessingTime();
        for (Integer bucket : buckets) {
            setCurrentKey(bucket);
            onProcessingTime(new TimerHeapInternalTimer<>(now, bucket, VoidNamespace.INSTANCE));
        }
    }
}
