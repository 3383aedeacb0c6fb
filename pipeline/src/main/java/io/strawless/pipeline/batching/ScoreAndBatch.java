package io.strawless.pipeline.batching;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.serde.TrainingBatchSerializer;
import io.strawless.pipeline.CountersByName;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.Ledger.Way;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.InputValidator;
import io.strawless.pipeline.credit.Credit;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.CreditScorer;
import io.strawless.pipeline.credit.Trajectory;
import io.strawless.pipeline.grouping.GroupStateSerializers;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.pipeline.kernels.KernelExecutor;
import io.strawless.pipeline.reliability.Quarantine;
import io.strawless.pipeline.reliability.ReliabilityModel;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import io.strawless.pipeline.reliability.ReliabilityOptions.SuspectPolicy;
import io.strawless.pipeline.reliability.VerifierReliability;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Collects groups into a batch, closing it by size or by latency, then scores the whole batch in one
 * call of the estimator's kernels and emits it as a {@link TrainingBatch}.
 *
 * <p>A batch is one Kafka record, so it also closes before a group would take it past {@code
 * kafka.max-record-bytes}: each group's size in the batch is bounded from its steps' encoded lengths as it
 * arrives ({@link TrainingBatches#bytesBound}), and a group that alone would not fit goes to the unscored output
 * (reason OVERSIZED). A record over the producer's limit would fail the sink, and the job would restore and fail
 * on the same batch again. A pending batch restored from a savepoint is counted again when this run first touches
 * its bucket ({@link #countedPendingBatch}): its count was made by whichever release and settings took the savepoint.
 *
 * <p>Scoring the batch as a unit is what makes batch-level conventions (verl's whitening over the
 * batch) mean what a trainer expects, and gives the kernels enough work per call. The key is a batching
 * bucket, one per parallel instance (see {@link #bucketKeys}). A pending batch waits at most
 * {@code batch.max-latency} of processing time, and, with {@code batch.close-at-checkpoint}, no longer than the
 * next checkpoint, when {@link ScoreAndBatchOperator} closes it; an event-time timer at the end of time also flushes
 * it when the job drains (stop-with-savepoint --drain, or the end of a bounded backfill), where processing-time
 * timers no longer fire.
 *
 * <p>Each batch also teaches the bucket's verifier {@link ReliabilityModel} (before it is scored, see
 * {@link VerifierReliability}), which weights the process estimator's verifiers, screens every trajectory
 * for reward hacking ({@link Quarantine}, {@code job.suspect-policy}) and is recorded in the batch.
 */
public class ScoreAndBatch extends KeyedProcessFunction<Integer, TrajectoryGroup, TrainingBatch> {

    /**
     * Trajectories the estimator cannot score, suspects under {@code job.suspect-policy=UNSCORED}, and groups too
     * large for a batch.
     */
    public static final OutputTag<UnscoredTrajectory> UNSCORABLE =
            new OutputTag<>("unscorable", TypeInformation.of(UnscoredTrajectory.class));

    /** The state of a bucket's pending batch: its keys are the buckets with one. */
    static final String PENDING_BATCH = "pending-batch";
    /** Name of the state that holds a bucket's reliability model. */
    static final String RELIABILITY = "reliability";
    private static final long END_OF_TIME = Long.MAX_VALUE;
    /** The histograms summarise this many recent batches. */
    private static final int HISTOGRAM_WINDOW = 512;

    private final ReadableConfig conf;
    private final int maxTrajectories;
    private final long maxLatencyMillis;
    private final int maxRecordBytes;

    private transient CreditConfig credit;
    /** {@code credit.fingerprint()}, a hash over every setting: computed once, not twice a batch. */
    private transient String fingerprint;
    /** The bytes a batch's trajectories may take: {@code kafka.max-record-bytes} less the key and the envelope. */
    private transient long trajectoryBytes;
    private transient CreditScorer scorer;
    /** Scores without statistics over the batch, to find a unit that overflows them; made the first time one does. */
    private transient CreditScorer unpooledScorer;
    private transient ListState<TrajectoryGroup> pending;
    private transient ValueState<PendingBatch> pendingBatch;
    /** The buckets this run has touched: their pending batches, if any, are counted with this run's bound. */
    private transient Set<Integer> bucketsCountedByThisRun;
    private transient ValueState<ReliabilityModel> reliabilityModel;
    /** When the bucket's model is dropped unless a batch comes first (event time); null without a model or event time. */
    private transient ValueState<Long> modelExpiry;
    private final long modelIdleTtlMillis;
    private transient VerifierReliability reliability;
    private transient Quarantine quarantine;
    private transient SuspectPolicy suspectPolicy;
    private transient Counter suspects;
    private transient Counter batches;
    private transient Counter trajectoriesScored;
    private transient Counter stepsScored;
    private transient Histogram kernelTimeMs;
    private transient Histogram batchLatencyMs;
    private transient Ledger ledger;
    private transient CountersByName unscoredByReason;

    public ScoreAndBatch(ReadableConfig conf) {
        this.conf = conf;
        this.maxTrajectories = conf.get(JobOptions.BATCH_MAX_TRAJECTORIES);
        if (maxTrajectories < 1) {
            throw new IllegalArgumentException(JobOptions.BATCH_MAX_TRAJECTORIES.key() + " must be positive, was "
                    + maxTrajectories + ": set how many trajectories a batch holds at most, e.g. 256 (1 sends each group on as it"
                    + " closes)");
        }
        this.maxLatencyMillis = conf.get(JobOptions.BATCH_MAX_LATENCY).toMillis();
        this.maxRecordBytes = KafkaOptions.maxRecordBytes(conf);
        this.modelIdleTtlMillis = conf.get(ReliabilityOptions.MODEL_IDLE_TTL).toMillis();
        if (modelIdleTtlMillis <= 0) {
            throw new IllegalArgumentException(ReliabilityOptions.MODEL_IDLE_TTL.key() + " must be positive, was "
                    + conf.get(ReliabilityOptions.MODEL_IDLE_TTL) + ": set how long a bucket keeps its verifiers'"
                    + " reliabilities without a batch, e.g. 24h");
        }
        // Made again in open(); made here too so that settings they refuse fail when the job is built (a usage
        // error, before a backfill changes anything), not in every task's open(), in a restart loop.
        new VerifierReliability(conf);
        new Quarantine(conf);
    }

    /**
     * The bytes a batch's trajectories and lineage may take within {@code maxRecordBytes}: less the key and the
     * rest of the batch, with room for a reliability entry for every verifier the model tells apart.
     */
    static long trajectoryBytes(int maxRecordBytes, CreditConfig credit) {
        String longestBackend = Arrays.stream(KernelExecutor.Backend.values()).map(Object::toString)
                .max(Comparator.comparingInt(String::length)).orElseThrow();
        return maxRecordBytes - TrainingBatchSerializer.KEY_BYTES
                - TrainingBatchSerializer.envelopeBytesBound(credit.estimator().toString(), credit.fingerprint(),
                        longestBackend, ReliabilityModel.MAX_VERIFIERS,
                        3 * InputValidator.MAX_ID_LENGTH); // at most 3 UTF-8 bytes a char
    }

    /**
     * The batching buckets' keys, one for each parallel instance of this stage, each chosen to land on its
     * own instance. Flink routes a key by its hash to one of {@code maxParallelism} key groups and a key
     * group to an instance, so the keys 0 .. p-1 would not do: at parallelism 2 both land on the second
     * instance, and the first would score nothing. Key i is the smallest key that lands on instance i.
     */
    public static int[] bucketKeys(int parallelism, int maxParallelism) {
        KeyGroupRangeAssignment.checkParallelismPreconditions(parallelism);
        if (parallelism > maxParallelism) {
            throw new IllegalArgumentException(
                    "parallelism " + parallelism + " exceeds the max parallelism " + maxParallelism);
        }
        int[] keys = new int[parallelism];
        Arrays.fill(keys, -1);
        int found = 0;
        // Every instance owns at least one key group, and murmur hashes of consecutive ints reach every key
        // group within a few thousand keys (about maxParallelism * ln(maxParallelism)).
        for (int key = 0; found < parallelism; key++) {
            int instance = KeyGroupRangeAssignment.assignKeyToParallelOperator(key, maxParallelism, parallelism);
            if (keys[instance] < 0) {
                keys[instance] = key;
                found++;
            }
        }
        return keys;
    }

    /** The key of the bucket a group's task lands in, one of {@link #bucketKeys}: always the same for a task. */
    public static int bucketOf(TrajectoryGroup group, int[] bucketKeys) {
        return bucketKeys[bucketIndexOf(group.taskId(), bucketKeys.length)];
    }

    /** Which of {@code buckets} buckets, one per parallel instance, scores the groups of a task. */
    public static int bucketIndexOf(String taskId, int buckets) {
        return Math.floorMod(taskId.hashCode(), buckets);
    }

    @Override
    public void open(OpenContext openContext) {
        credit = CreditConfig.from(conf);
        fingerprint = credit.fingerprint();
        trajectoryBytes = trajectoryBytes(maxRecordBytes, credit);
        scorer = new CreditScorer(credit, maxTrajectories);
        pending = getRuntimeContext().getListState(
                new ListStateDescriptor<>("pending", new GroupStateSerializers.OfTrajectoryGroup()));
        pendingBatch = getRuntimeContext().getState(new ValueStateDescriptor<>(PENDING_BATCH, PendingBatch.class));
        bucketsCountedByThisRun = new HashSet<>();
        MetricGroup metrics = getRuntimeContext().getMetricGroup().addGroup("credit");
        batches = metrics.counter("batches");
        trajectoriesScored = metrics.counter("trajectoriesScored");
        stepsScored = metrics.counter("stepsScored");
        registerBackendGauges(metrics, () -> scorer.backend());
        metrics.gauge("backendFallbacks", () -> scorer.fallbacks());
        kernelTimeMs = metrics.histogram("kernelTimeMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        batchLatencyMs = metrics.histogram("batchLatencyMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        // Every kind a trajectory carries, batched or routed unscored.
        ledger = new Ledger(getRuntimeContext().getMetricGroup()).counting(Way.BATCHED, Way.UNSCORED);
        unscoredByReason = new CountersByName(metrics.addGroup("unscored"));
        reliabilityModel = getRuntimeContext().getState(new ValueStateDescriptor<>(RELIABILITY, ReliabilityModel.class));
        modelExpiry = getRuntimeContext().getState(new ValueStateDescriptor<>("reliability-expiry", Long.class));
        reliability = new VerifierReliability(conf);
        reliability.registerMetrics(metrics);
        quarantine = new Quarantine(conf);
        suspectPolicy = conf.get(ReliabilityOptions.SUSPECT_POLICY);
        suspects = metrics.counter("suspects");
    }

    /**
     * One gauge per kernel backend under {@code backend.<name>.inUse}: 1 for the one in use, 0 for the others.
     * Not a gauge of the name itself: Prometheus exports only numbers, and reads any other gauge as 0. Its
     * reporter makes {@code backend} a label: {@code ..._credit_backend_inUse{backend="opencl"}}.
     */
    static void registerBackendGauges(MetricGroup credit, Supplier<String> backendInUse) {
        for (KernelExecutor.Backend backend : KernelExecutor.Backend.values()) {
            String name = backend.toString();
            credit.addGroup("backend", name).gauge("inUse", () -> name.equals(backendInUse.get()) ? 1 : 0);
        }
    }

    @Override
    public void close() throws Exception {
        if (scorer != null) {
            scorer.close();
        }
        if (unpooledScorer != null) {
            unpooledScorer.close();
        }
    }

    @Override
    public void processElement(TrajectoryGroup group, Context ctx, Collector<TrainingBatch> out) throws Exception {
        long bytes = bytesBound(group);
        if (bytes > trajectoryBytes) {
            tooLarge(group, bytes, ctx);
            return;
        }
        PendingBatch batch = countedPendingBatch(ctx);
        if (batch != null && batch.bytes() + bytes > trajectoryBytes) {
            flush(ctx, batch, out);
            batch = null;
        }
        if (batch == null) {
            long flushAt = ctx.timerService().currentProcessingTime() + maxLatencyMillis;
            ctx.timerService().registerProcessingTimeTimer(flushAt);
            ctx.timerService().registerEventTimeTimer(END_OF_TIME);
            batch = new PendingBatch(0, flushAt, 0);
        }
        pending.add(group);
        batch = new PendingBatch(batch.trajectories() + group.trajectoryCount(), batch.flushAt(), batch.bytes() + bytes);
        if (batch.trajectories() >= maxTrajectories) {
            flush(ctx, batch, out);
        } else {
            pendingBatch.update(batch);
        }
    }

    /**
     * The bucket's pending batch, if any, its bytes counted with this run's bound. One restored from a savepoint was
     * counted by the release and against the {@code kafka.max-record-bytes} and estimator that took it: as 0 before
     * releases counted them, short of today's bound since TrainingBatch v4 and v5 added bytes to every trajectory and
     * step, or within a larger limit. Trusted, a batch near the limit would go out past it, and the broker's refusal
     * would fail the sink on every restore; so the first time this run touches the bucket, it counts the batch again
     * from its groups, and {@link #flush} splits it if it is now over.
     */
    private PendingBatch countedPendingBatch(Context ctx) throws Exception {
        PendingBatch batch = pendingBatch.value();
        if (bucketsCountedByThisRun.add(ctx.getCurrentKey()) && batch != null) {
            long bytes = 0;
            for (TrajectoryGroup group : pending.get()) {
                bytes += bytesBound(group);
            }
            batch = new PendingBatch(batch.trajectories(), batch.flushAt(), bytes);
            pendingBatch.update(batch);
        }
        return batch;
    }

    private long bytesBound(TrajectoryGroup group) {
        long bytes = 0;
        for (AssembledTrajectory member : group.members()) {
            bytes += TrainingBatches.bytesBound(member, credit.estimator().hasProcessRewards());
        }
        return bytes;
    }

    /** A group no batch has room for: all of it to the unscored output, since scoring part would change the rest's credit. */
    private void tooLarge(TrajectoryGroup group, long bytes, Context ctx) {
        long now = ctx.timerService().currentProcessingTime();
        String detail = "its group of " + group.trajectoryCount() + " trajectories needs up to " + bytes
                + " bytes in a training batch, more than the " + trajectoryBytes + " that "
                + KafkaOptions.MAX_RECORD_BYTES.key() + "=" + maxRecordBytes + " leaves for trajectories: send token ids"
                + " by payload_ref, or raise " + KafkaOptions.MAX_RECORD_BYTES.key() + " (and the batches topic's"
                + " max.message.bytes)";
        for (AssembledTrajectory member : group.members()) {
            ctx.output(UNSCORABLE, unscored(member, UnscoredReason.OVERSIZED, detail, now));
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TrainingBatch> out) throws Exception {
        if (ctx.timeDomain() == TimeDomain.EVENT_TIME && timestamp != END_OF_TIME) {
            expireModel(timestamp, ctx);
            return;
        }
        // The batch's latency, the end of the input, or a checkpoint barrier (ScoreAndBatchOperator).
        PendingBatch batch = countedPendingBatch(ctx);
        if (batch != null) {
            flush(ctx, batch, out);
        }
    }

    /**
     * At an expiry timer: drops the bucket's model when its expiry has passed and no batch is pending (the batch's
     * flush keeps it). A model without an expiry, restored from a release before the TTL (ScoreAndBatchOperator
     * arms a timer for every restored model), gets one; one whose timer is gone (saved at a drain, after the end of
     * the input) gets its timer back.
     */
    private void expireModel(long timestamp, Context ctx) throws Exception {
        Long expiry = modelExpiry.value();
        if (expiry == null) {
            if (reliabilityModel.value() != null) {
                keepModel(ctx);
            }
        } else if (expiry > timestamp) {
            ctx.timerService().registerEventTimeTimer(expiry); // the same timer again, where it is still there
        } else if (pendingBatch.value() == null) {
            reliabilityModel.clear();
            modelExpiry.clear();
        }
    }

    /**
     * Moves the model's expiry to {@code reliability.model-idle-ttl} of event time after the watermark. It moves in
     * steps of a sixteenth of the TTL, and a timer is only added, never deleted: a busy bucket touches its timers once
     * per step, not once per batch; the timers an expiry leaves behind fire as no-ops. Event time, not processing
     * time: a backfill replays it as it was, and a bucket is not emptied while the job merely waits for input.
     */
    private void keepModel(Context ctx) throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        long step = Math.max(1, modelIdleTtlMillis / 16);
        if (watermark == Long.MIN_VALUE || watermark > END_OF_TIME - modelIdleTtlMillis - step) {
            return; // no event time yet (the next batch sets the expiry), or the input has ended
        }
        long next = Math.floorDiv(watermark + modelIdleTtlMillis + step - 1, step) * step;
        Long expiry = modelExpiry.value();
        if (expiry != null && expiry >= next) {
            return;
        }
        ctx.timerService().registerEventTimeTimer(next);
        modelExpiry.update(next);
    }

    private void flush(Context ctx, PendingBatch batch, Collector<TrainingBatch> out) throws Exception {
        ctx.timerService().deleteProcessingTimeTimer(batch.flushAt());
        ctx.timerService().deleteEventTimeTimer(END_OF_TIME);
        long now = ctx.timerService().currentProcessingTime();
        List<TrajectoryGroup> groups = new ArrayList<>();
        pending.get().forEach(groups::add);
        pending.clear();
        pendingBatch.clear();
        // Only a restored batch, counted again (countedPendingBatch), can be over: it goes out as several records, and
        // a group no record holds goes to unscored, instead of failing the sink again.
        List<List<TrajectoryGroup>> parts =
                batch.bytes() <= trajectoryBytes ? List.of(groups) : withinRecordLimit(groups, ctx);

        List<TrajectoryGroup> kept = new ArrayList<>();
        parts.forEach(kept::addAll);
        ReliabilityModel model = reliability.learn(reliabilityModel.value(), kept);
        if (model.learnt > 0) { // no verdicts, no model: then the bucket keeps no state between batches
            reliabilityModel.update(model);
            keepModel(ctx);
        }
        for (List<TrajectoryGroup> part : parts) {
            emit(part, model, batch.flushAt(), ctx, now, out);
        }
    }

    /** The groups in as few parts as fit a record each, in order; a group that fits none goes to unscored. */
    private List<List<TrajectoryGroup>> withinRecordLimit(List<TrajectoryGroup> groups, Context ctx) {
        List<List<TrajectoryGroup>> parts = new ArrayList<>();
        List<TrajectoryGroup> part = new ArrayList<>();
        long partBytes = 0;
        for (TrajectoryGroup group : groups) {
            long bytes = bytesBound(group);
            if (bytes > trajectoryBytes) {
                tooLarge(group, bytes, ctx);
                continue;
            }
            if (!part.isEmpty() && partBytes + bytes > trajectoryBytes) {
                parts.add(part);
                part = new ArrayList<>();
                partBytes = 0;
            }
            part.add(group);
            partBytes += bytes;
        }
        if (!part.isEmpty()) {
            parts.add(part);
        }
        return parts;
    }

    /** Scores {@code groups} in one call of the estimator's kernels and emits them as one batch. */
    private void emit(List<TrajectoryGroup> groups, ReliabilityModel model, long flushAt, Context ctx, long now,
            Collector<TrainingBatch> out) {
        List<AssembledTrajectory> members = new ArrayList<>();
        List<Integer> units = new ArrayList<>(); // each member's scoring unit: its group's position in groups
        List<Double> taskBaselines = new ArrayList<>(); // each member's group's
        List<Trajectory> inputs = new ArrayList<>();
        Set<String> flagged = new HashSet<>();
        for (int unit = 0; unit < groups.size(); unit++) {
            TrajectoryGroup screened = screen(groups.get(unit), model, flagged, ctx, now);
            Scorable scorable = screened == null ? null : creditInputs(screened, flagged, Integer.toString(unit), ctx,
                    now);
            if (scorable != null) {
                members.addAll(scorable.members());
                inputs.addAll(scorable.inputs());
                for (AssembledTrajectory member : scorable.members()) {
                    units.add(unit);
                    taskBaselines.add(screened.baseline());
                }
            }
        }
        if (inputs.isEmpty()) {
            return;
        }
        Optional<String> tooSmall = scorer.batchTooSmall(inputs);
        if (tooSmall.isPresent()) {
            for (AssembledTrajectory member : members) {
                ctx.output(UNSCORABLE, unscored(member, UnscoredReason.UNSCORABLE, tooSmall.get(), now));
            }
            return;
        }

        long scoringStart = System.nanoTime();
        List<Credit> credits = new ArrayList<>(score(inputs, model));
        if (credit.poolsOverTheBatch() && !credits.stream().allMatch(Credit::isFinite)) {
            Set<Integer> overflowing = membersThatOverflowAlone(members, inputs, units, flagged, model);
            if (!overflowing.isEmpty() && overflowing.size() < members.size()) {
                // One group's numbers too large for the arithmetic make the batch's statistics, and so every credit
                // in it, non-finite: that group (or a flagged suspect alone) goes to unscored, and the rest of the
                // batch is scored without it.
                for (int i = members.size() - 1; i >= 0; i--) {
                    if (overflowing.contains(i)) {
                        boolean suspect = flagged.remove(members.get(i).trajectoryId());
                        ctx.output(UNSCORABLE, unscored(members.get(i), UnscoredReason.UNSCORABLE, credit.estimator()
                                + " gave " + (suspect ? "it" : "its group") + " a credit that is not a finite number"
                                + " on its own: a reward, value or outcome is too large for the arithmetic (the rest of"
                                + " its batch was scored without it" + (suspect ? "; a suspect, scored apart from its"
                                + " group" : "") + ")", now));
                        members.remove(i);
                        inputs.remove(i);
                        units.remove(i);
                        taskBaselines.remove(i);
                    }
                }
                Optional<String> restTooSmall = scorer.batchTooSmall(inputs);
                if (restTooSmall.isPresent()) {
                    for (AssembledTrajectory member : members) {
                        ctx.output(UNSCORABLE, unscored(member, UnscoredReason.UNSCORABLE, restTooSmall.get(), now));
                    }
                    return;
                }
                credits = new ArrayList<>(score(inputs, model));
            }
        }
        int[] unitSizes = unitSizes(inputs);
        Optional<String> tooSmallWithoutSuspects = flagged.isEmpty() ? Optional.empty()
                : rescoreWithoutSuspects(credits, unitSizes, members, inputs, flagged, model);
        kernelTimeMs.update((System.nanoTime() - scoringStart) / 1_000_000);

        List<ScoredTrajectory> trajectories = new ArrayList<>(members.size());
        List<AssembledTrajectory> batched = new ArrayList<>(members.size());
        Map<Partition, OffsetRange> lineage = new LinkedHashMap<>();
        long minPolicy = Long.MAX_VALUE;
        long maxPolicy = Long.MIN_VALUE;
        for (int i = 0; i < members.size(); i++) {
            AssembledTrajectory member = members.get(i);
            if (credits.get(i) == null) {
                ctx.output(UNSCORABLE, unscored(member, UnscoredReason.UNSCORABLE, tooSmallWithoutSuspects.get()
                        + " (without the suspects, which job.suspect-policy=FLAG leaves out of the others' statistics)",
                        now));
                continue;
            }
            if (!credits.get(i).isFinite()) {
                // A trainer's loss would turn NaN on it, and with it the whole update.
                ctx.output(UNSCORABLE, unscored(member, UnscoredReason.UNSCORABLE, credit.estimator() + " gave it a"
                        + " credit that is not a finite number: a reward, value or outcome of it or of its group"
                        + (credit.normalize() == CreditOptions.Normalize.BATCH ? " or batch" : "")
                        + " is too large for the arithmetic", now));
                continue;
            }
            batched.add(member);
            // The baseline the credit subtracted, where it subtracted one: not for another estimator or a member of a
            // group, nor for a trajectory scored without its outcome (TrainingBatches.creditInput).
            Double baseline = credit.usesTaskBaseline(unitSizes[i]) && !member.outcomeTimedOut()
                    ? taskBaselines.get(i) : null;
            trajectories.add(TrainingBatches.scored(member, credits.get(i), baseline,
                    flagged.contains(member.trajectoryId()), units.get(i), unitSizes[i]));
            minPolicy = Math.min(minPolicy, member.minPolicyVersion());
            maxPolicy = Math.max(maxPolicy, member.maxPolicyVersion());
            for (OffsetRange range : member.lineage()) {
                // A copy: span() widens it in place, and the member's own range must stay as it is.
                lineage.merge(new Partition(range.getTopic(), range.getPartition()), new OffsetRange(range.getTopic(),
                        range.getPartition(), range.getFirstOffset(), range.getLastOffset()), ScoreAndBatch::span);
            }
            ledger.count(member, Way.BATCHED);
            stepsScored.inc(member.steps().size());
        }
        if (trajectories.isEmpty()) {
            return;
        }
        trajectoriesScored.inc(trajectories.size());
        out.collect(TrainingBatch.newBuilder()
                .setBatchId(batchId(batched))
                .setCreatedAt(Instant.ofEpochMilli(now))
                .setEstimator(credit.estimator().toString())
                .setConfigFingerprint(fingerprint)
                .setBackend(scorer.backend())
                .setMinPolicyVersion(minPolicy)
                .setMaxPolicyVersion(maxPolicy)
                .setLineage(new ArrayList<>(lineage.values()))
                .setTrajectories(trajectories)
                .setVerifierReliability(model.reliabilities())
                .build());
        batches.inc();
        // From the batch's first group to its emission; it becomes visible at the next checkpoint.
        batchLatencyMs.update(now - (flushAt - maxLatencyMillis));
    }

    /**
     * A suspect (job.suspect-policy=FLAG) weighs 0 in training, so it must not move the others' credit either: they
     * are scored again without the suspects, and get what they would get had the suspects gone to the unscored topic.
     * A suspect keeps the credit it got among its group, for the record. Replaces the others' {@code credits} and
     * {@code unitSizes} in place; where the batch without its suspects is too small to be scored, their credits with
     * null, and says why.
     */
    private Optional<String> rescoreWithoutSuspects(List<Credit> credits, int[] unitSizes,
            List<AssembledTrajectory> members, List<Trajectory> inputs, Set<String> flagged, ReliabilityModel model) {
        List<Integer> unsuspected = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            if (!flagged.contains(members.get(i).trajectoryId())) {
                unsuspected.add(i);
            }
        }
        if (unsuspected.isEmpty()) {
            return Optional.empty();
        }
        List<Trajectory> unsuspectedInputs = unsuspected.stream().map(inputs::get).toList();
        Optional<String> tooSmall = scorer.batchTooSmall(unsuspectedInputs);
        List<Credit> rescored = tooSmall.isPresent() ? null : score(unsuspectedInputs, model);
        int[] rescoredSizes = unitSizes(unsuspectedInputs);
        for (int k = 0; k < unsuspected.size(); k++) {
            credits.set(unsuspected.get(k), rescored == null ? null : rescored.get(k));
            unitSizes[unsuspected.get(k)] = rescoredSizes[k];
        }
        return tooSmall;
    }

    /**
     * The positions of the members whose scoring unit ({@code units}: each input's) has a credit without the batch's
     * statistics that is not finite or has a square that is not: their numbers overflow what the batch pools. Without
     * those statistics the units share nothing, so one call scores each as on its own. A suspect flagged under
     * job.suspect-policy=FLAG is a unit of its own here: its group is scored without it in the end
     * ({@link #rescoreWithoutSuspects}), as under UNSCORED, where it leaves before scoring, so its numbers must not
     * take its group to unscored. Only on the path where a batch's pooled statistics came out non-finite, in Java.
     */
    private Set<Integer> membersThatOverflowAlone(List<AssembledTrajectory> members, List<Trajectory> inputs,
            List<Integer> units, Set<String> flagged, ReliabilityModel model) {
        if (unpooledScorer == null) {
            unpooledScorer = new CreditScorer(credit.withoutBatchStatistics(), maxTrajectories);
        }
        List<Integer> searchUnits = new ArrayList<>(units);
        List<Trajectory> searchInputs = new ArrayList<>(inputs);
        for (int i = 0; i < members.size(); i++) {
            if (flagged.contains(members.get(i).trajectoryId())) {
                int ownUnit = -1 - i; // the groups' units are their positions in the batch, from 0
                Trajectory input = inputs.get(i);
                searchUnits.set(i, ownUnit);
                searchInputs.set(i, new Trajectory(input.id(), Integer.toString(ownUnit), input.taskId(),
                        input.outcome(), input.terminal(), input.bootstrapValue(), input.baseline(), input.steps()));
            }
        }
        List<Credit> unpooled = score(unpooledScorer, searchInputs, model);
        Set<Integer> overflowingUnits = new HashSet<>();
        for (int i = 0; i < searchInputs.size(); i++) {
            if (!unpooled.get(i).squaresFinite()) {
                overflowingUnits.add(searchUnits.get(i));
            }
        }
        Set<Integer> overflowing = new HashSet<>();
        for (int i = 0; i < searchUnits.size(); i++) {
            if (overflowingUnits.contains(searchUnits.get(i))) {
                overflowing.add(i);
            }
        }
        return overflowing;
    }

    /**
     * How many trajectories each of {@code inputs} was scored with, scored in one call: those that share its group
     * key (the estimators pool their statistics), or 1 without one (scored alone).
     */
    private static int[] unitSizes(List<Trajectory> inputs) {
        Map<String, Integer> sizes = new HashMap<>();
        for (Trajectory input : inputs) {
            if (input.groupId() != null) {
                sizes.merge(input.groupId(), 1, Integer::sum);
            }
        }
        return inputs.stream().mapToInt(input -> input.groupId() == null ? 1 : sizes.get(input.groupId())).toArray();
    }

    /** Scores {@code inputs} in one call, with the verifier weights the reliability model has learnt where it is used. */
    private List<Credit> score(List<Trajectory> inputs, ReliabilityModel model) {
        return score(scorer, inputs, model);
    }

    private List<Credit> score(CreditScorer with, List<Trajectory> inputs, ReliabilityModel model) {
        return reliability.verifierWeights(model, credit)
                .map(weights -> with.score(inputs, weights))
                .orElseGet(() -> with.score(inputs));
    }

    /** A group's members as they are scored, and their inputs for the estimator, in the same order. */
    private record Scorable(List<AssembledTrajectory> members, List<Trajectory> inputs) {}

    /**
     * The group's members and inputs for the estimator, or null when one member cannot be scored by it (say, gae
     * without values): then the whole group goes to the unscored output, since scoring the rest would change every
     * member's group-relative credit. A suspect flagged under job.suspect-policy=FLAG is the exception: it is left out
     * of the others' statistics anyway, so it goes alone, as under UNSCORED it would have gone before scoring.
     */
    private Scorable creditInputs(TrajectoryGroup group, Set<String> flagged, String unit, Context ctx, long now) {
        List<AssembledTrajectory> members = new ArrayList<>(group.trajectoryCount());
        List<Trajectory> inputs = new ArrayList<>(group.trajectoryCount());
        List<AssembledTrajectory> unscoredAlone = new ArrayList<>();
        for (AssembledTrajectory member : group.members()) {
            Trajectory input = TrainingBatches.creditInput(member, group.baseline(), unit);
            try {
                CreditScorer.validate(input, credit);
            } catch (IllegalArgumentException e) {
                if (flagged.remove(member.trajectoryId())) {
                    unscoredAlone.add(member);
                    ctx.output(UNSCORABLE, unscored(member, UnscoredReason.UNSCORABLE, credit.estimator()
                            + " cannot score it: " + e.getMessage() + " (a suspect, scored apart from its group)",
                            now));
                    continue;
                }
                for (AssembledTrajectory m : group.members()) {
                    if (!unscoredAlone.contains(m)) {
                        ctx.output(UNSCORABLE, unscored(m, UnscoredReason.UNSCORABLE, credit.estimator()
                                + " cannot score " + (m == member ? "it" : "its group") + ": " + e.getMessage(), now));
                    }
                }
                return null;
            }
            members.add(member);
            inputs.add(input);
        }
        return members.isEmpty() ? null : new Scorable(members, inputs);
    }

    /**
     * The group less the members the quarantine suspects of reward hacking, which go to the unscored output
     * under {@code job.suspect-policy=UNSCORED} (null when none is left); under FLAG the whole group, the
     * suspects' ids added to {@code flagged}.
     */
    private TrajectoryGroup screen(TrajectoryGroup group, ReliabilityModel model, Set<String> flagged, Context ctx,
                                   long now) {
        List<AssembledTrajectory> kept = new ArrayList<>(group.trajectoryCount());
        for (AssembledTrajectory member : group.members()) {
            Optional<String> suspicion = quarantine.suspicion(member, model);
            if (suspicion.isPresent()) {
                suspects.inc();
                if (suspectPolicy == SuspectPolicy.UNSCORED) {
                    ctx.output(UNSCORABLE, unscored(member, UnscoredReason.SUSPECT, suspicion.get(), now));
                    continue;
                }
                flagged.add(member.trajectoryId());
            }
            kept.add(member);
        }
        if (kept.size() == group.trajectoryCount()) {
            return group;
        }
        return kept.isEmpty() ? null : new TrajectoryGroup(kept, group.baseline());
    }

    /** Counts {@code t} as unscored and says why. */
    private UnscoredTrajectory unscored(AssembledTrajectory t, UnscoredReason reason, String detail, long now) {
        ledger.count(t, Way.UNSCORED);
        unscoredByReason.inc(reason.name());
        return t.unscored(reason, detail, Instant.ofEpochMilli(now));
    }

    private static OffsetRange span(OffsetRange a, OffsetRange b) {
        a.setFirstOffset(Math.min(a.getFirstOffset(), b.getFirstOffset()));
        a.setLastOffset(Math.max(a.getLastOffset(), b.getLastOffset()));
        return a;
    }

    /**
     * Derived from the content: the same inputs scored with the same configuration get the same id (a batch replayed
     * after a restore keeps its id only where the same groups share it again, which depends on timing). The inputs'
     * offsets count, not only the trajectory ids: a trajectory
     * sent again after the job forgot it (job.finished-retention) is new content, and a trainer that drops batches
     * it has seen by id must not drop it.
     */
    private String batchId(List<AssembledTrajectory> batched) {
        StringBuilder content = new StringBuilder(fingerprint).append('\n');
        for (AssembledTrajectory t : batched) {
            content.append(t.trajectoryId());
            for (OffsetRange range : t.lineage()) {
                content.append(' ').append(range.getTopic()).append(':').append(range.getPartition()).append(':')
                        .append(range.getFirstOffset()).append('-').append(range.getLastOffset());
            }
            content.append('\n');
        }
        return UUID.nameUUIDFromBytes(content.toString().getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** One partition of one input topic: the batch's lineage has one offset range per partition. */
    private record Partition(String topic, int partition) {}

    /**
     * Size and flush deadline of the batch being filled under this key; {@code bytes} bounds the size of its
     * trajectories and lineage in the batch, as the run that counted it bounded them (0 in a savepoint taken before it
     * was kept: Flink's record serializer gives a field it did not write its type's default). A restored one is
     * counted again ({@link ScoreAndBatch#countedPendingBatch}).
     */
    public record PendingBatch(int trajectories, long flushAt, long bytes) {}
}
