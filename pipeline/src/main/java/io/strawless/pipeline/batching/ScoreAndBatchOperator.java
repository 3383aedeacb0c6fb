package io.strawless.pipeline.batching;

import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.TrainingBatch;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.TimerHeapInternalTimer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    private static final Logger LOG = LoggerFactory.getLogger(ScoreAndBatchOperator.class);

    private final boolean closeAtCheckpoint;
    private final int[] bucketKeys;

    /** @param bucketKeys the keys the groups are routed by ({@link ScoreAndBatch#bucketKeys}) */
    public ScoreAndBatchOperator(ReadableConfig conf, int[] bucketKeys) {
        super(new ScoreAndBatch(conf));
        this.closeAtCheckpoint = conf.get(JobOptions.BATCH_CLOSE_AT_CHECKPOINT);
        this.bucketKeys = bucketKeys.clone();
    }

    /**
     * Why the buckets do not each land on their own subtask at this parallelism and max parallelism, or empty. They
     * were laid out for the parallelism and max parallelism the job was built with; a restore keeps the savepoint's
     * max parallelism, whatever the job derives from a new parallelism, and an autoscaler may scale this stage alone.
     * The batches are still right, but some subtasks then score several buckets and others none.
     */
    static Optional<String> bucketLayoutProblem(int[] bucketKeys, int parallelism, int maxParallelism) {
        Set<Integer> instances = new HashSet<>();
        for (int key : bucketKeys) {
            instances.add(KeyGroupRangeAssignment.assignKeyToParallelOperator(key, maxParallelism, parallelism));
        }
        if (instances.size() == parallelism && bucketKeys.length == parallelism) {
            return Optional.empty();
        }
        return Optional.of("the " + bucketKeys.length + " batching buckets land on " + instances.size() + " of the "
                + parallelism + " scoring subtasks (max parallelism " + maxParallelism + "), so the others score"
                + " nothing: run score-and-batch at the job's parallelism, and set " + PipelineOptions.MAX_PARALLELISM.key()
                + " to " + maxParallelism + " (what the savepoint keeps) when the job is built");
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
        TaskInfo task = getRuntimeContext().getTaskInfo();
        if (task.getIndexOfThisSubtask() == 0) { // one warning, not one per subtask
            bucketLayoutProblem(bucketKeys, task.getNumberOfParallelSubtasks(), task.getMaxNumberOfParallelSubtasks())
                    .ifPresent(LOG::warn);
        }
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
