package io.strawless.pipeline.batching;

import io.strawless.pipeline.JobOptions;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Packs scored groups into {@link TrainingBatch}es, closing a batch by size or by latency.
 *
 * <p>The key is a small batching bucket (see {@link #bucketOf}), so each parallel instance fills a few
 * batches at a time. A pending batch waits at most {@code batch.max-latency} of processing time; an
 * event-time timer at the end of time also flushes it when the job drains (stop-with-savepoint
 * --drain, or the end of a bounded backfill), where processing-time timers no longer fire.
 */
public class BatchScoredGroups extends KeyedProcessFunction<Integer, ScoredGroup, TrainingBatch> {

    private static final long END_OF_TIME = Long.MAX_VALUE;

    private final int maxTrajectories;
    private final long maxLatencyMillis;
    private final String estimator;
    private final String fingerprint;

    private transient ListState<ScoredGroup> pending;
    private transient ValueState<PendingBatch> pendingBatch;
    private transient Counter batches;
    private transient Counter batchedTrajectories;

    public BatchScoredGroups(ReadableConfig conf, String estimator, String fingerprint) {
        this.maxTrajectories = conf.get(JobOptions.BATCH_MAX_TRAJECTORIES);
        this.maxLatencyMillis = conf.get(JobOptions.BATCH_MAX_LATENCY).toMillis();
        this.estimator = estimator;
        this.fingerprint = fingerprint;
    }

    /** Spreads tasks over a few buckets per parallel instance; a task always lands in the same one. */
    public static int bucketOf(ScoredGroup group, int buckets) {
        return Math.floorMod(group.trajectories().get(0).getTaskId().hashCode(), buckets);
    }

    @Override
    public void open(OpenContext openContext) {
        pending = getRuntimeContext().getListState(new ListStateDescriptor<>("pending", ScoredGroup.class));
        pendingBatch = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-batch", PendingBatch.class));
        batches = getRuntimeContext().getMetricGroup().addGroup("batching").counter("batches");
        batchedTrajectories = getRuntimeContext().getMetricGroup().addGroup("batching").counter("trajectories");
    }

    @Override
    public void processElement(ScoredGroup group, Context ctx, Collector<TrainingBatch> out) throws Exception {
        PendingBatch batch = pendingBatch.value();
        if (batch == null) {
            long flushAt = ctx.timerService().currentProcessingTime() + maxLatencyMillis;
            ctx.timerService().registerProcessingTimeTimer(flushAt);
            ctx.timerService().registerEventTimeTimer(END_OF_TIME);
            batch = new PendingBatch(0, flushAt);
        }
        pending.add(group);
        batch = new PendingBatch(batch.trajectories() + group.trajectories().size(), batch.flushAt());
        if (batch.trajectories() >= maxTrajectories) {
            flush(ctx, batch, out);
        } else {
            pendingBatch.update(batch);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TrainingBatch> out) throws Exception {
        PendingBatch batch = pendingBatch.value();
        if (batch != null) {
            flush(ctx, batch, out);
        }
    }

    private void flush(Context ctx, PendingBatch batch, Collector<TrainingBatch> out) throws Exception {
        ctx.timerService().deleteProcessingTimeTimer(batch.flushAt());
        ctx.timerService().deleteEventTimeTimer(END_OF_TIME);
        List<ScoredTrajectory> trajectories = new ArrayList<>();
        Map<String, OffsetRange> lineage = new LinkedHashMap<>();
        TreeSet<String> backends = new TreeSet<>();
        long minPolicy = Long.MAX_VALUE;
        long maxPolicy = Long.MIN_VALUE;
        for (ScoredGroup group : pending.get()) {
            trajectories.addAll(group.trajectories());
            backends.add(group.backend());
            minPolicy = Math.min(minPolicy, group.minPolicyVersion());
            maxPolicy = Math.max(maxPolicy, group.maxPolicyVersion());
            for (OffsetRange range : group.lineage()) {
                lineage.merge(range.getTopic() + "/" + range.getPartition(), OffsetRange.newBuilder(range).build(),
                        BatchScoredGroups::span);
            }
        }
        out.collect(TrainingBatch.newBuilder()
                .setBatchId(batchId(trajectories))
                .setCreatedAt(Instant.ofEpochMilli(ctx.timerService().currentProcessingTime()))
                .setEstimator(estimator)
                .setConfigFingerprint(fingerprint)
                .setBackend(String.join(",", backends))
                .setMinPolicyVersion(minPolicy)
                .setMaxPolicyVersion(maxPolicy)
                .setLineage(new ArrayList<>(lineage.values()))
                .setTrajectories(trajectories)
                .build());
        batches.inc();
        batchedTrajectories.inc(trajectories.size());
        pending.clear();
        pendingBatch.clear();
    }

    private static OffsetRange span(OffsetRange a, OffsetRange b) {
        a.setFirstOffset(Math.min(a.getFirstOffset(), b.getFirstOffset()));
        a.setLastOffset(Math.max(a.getLastOffset(), b.getLastOffset()));
        return a;
    }

    /**
     * Derived from the content, so a batch recomputed after a failure carries the same id as the
     * attempt that was aborted, and a rerun with the same configuration reproduces it.
     */
    private String batchId(List<ScoredTrajectory> trajectories) {
        StringBuilder ids = new StringBuilder(fingerprint).append('\n');
        for (ScoredTrajectory t : trajectories) {
            ids.append(t.getTrajectoryId()).append('\n');
        }
        return UUID.nameUUIDFromBytes(ids.toString().getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** Size and flush deadline of the batch being filled under this key. */
    public record PendingBatch(int trajectories, long flushAt) {}
}
