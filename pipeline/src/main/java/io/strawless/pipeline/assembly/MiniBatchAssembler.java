package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;

/**
 * Runs {@link AssembleTrajectory} on mini-batches of inputs: it holds up to {@code job.mini-batch.size} inputs
 * (by default 50,000 with RocksDB state, none with heap state) and up to {@code job.mini-batch.max-bytes} of their
 * encodings, then applies them key by key, each key's inputs in
 * the order they came, in one session of the function ({@link AssembleTrajectory#beginKey}): a trajectory's state
 * is read and written once per mini-batch instead of once per input. On RocksDB every state access is a call into
 * RocksDB, and the assembler's state calls were half the job's CPU; when inputs queue up (catching up, a backfill)
 * a trajectory's inputs mostly land in one mini-batch. On the heap a state access is a hash lookup, and what it costs is mostly the first touch of the
 * key's entry, which a mini-batch does not save: measured, no faster.
 *
 * <p>A watermark that comes while inputs are held waits with them: it is passed on (its timers fire, it goes
 * downstream) right after they are applied. Otherwise every watermark would end a mini-batch, and the source emits
 * one every {@code pipeline.auto-watermark-interval} (200 ms) while event time moves: a mini-batch could never hold
 * more than that, however long the allowed latency. Holding a watermark back is always safe in event time (it is a
 * promise that no earlier input will come, kept later than it could have been), and it never waits longer than the
 * inputs it waits with.
 *
 * <p>So the result is that of applying each input as it comes with each watermark arriving when the mini-batch is
 * applied, because nothing else sees the state in between: the mini-batch is applied before a held watermark is
 * passed on (so before any timer fires), before the checkpoint barrier is passed on (so a checkpoint never holds
 * half of it: the inputs are in the state or still in the source's offsets), and when the input ends. Only the
 * moment of the outputs moves, by at most {@code job.mini-batch.allow-latency}.
 */
public final class MiniBatchAssembler extends DrainingKeyedProcessOperator<String, InputRecord, AssembledTrajectory> {

    private static final long serialVersionUID = 1L;
    /** What an input record and its wrapping take on the heap besides a step's encoding, roughly. */
    private static final int SMALL_RECORD_BYTES = 200;

    private final AssembleTrajectory assembler;
    /** job.mini-batch.size, null when it is not set (then it depends on the state backend). */
    private final Integer configuredSize;
    private final long allowLatencyMillis;
    private final long maxBytes;

    private transient int maxInputs;

    /** The held inputs by key, keys in the order their first input came. */
    private transient Map<String, List<StreamRecord<InputRecord>>> held;
    private transient int heldInputs;
    private transient long heldBytes;
    private transient boolean flushScheduled;
    /** The newest watermark that came while inputs were held, passed on once they are applied; null when none. */
    private transient Watermark heldWatermark;

    public MiniBatchAssembler(AssembleTrajectory assembler, ReadableConfig conf) {
        super(assembler);
        this.assembler = assembler;
        this.configuredSize = conf.getOptional(JobOptions.MINI_BATCH_SIZE).orElse(null);
        this.allowLatencyMillis = allowLatency(conf).toMillis();
        this.maxBytes = conf.get(JobOptions.MINI_BATCH_MAX_BYTES).getBytes();
        if (configuredSize != null && configuredSize < 1) {
            throw new IllegalArgumentException(JobOptions.MINI_BATCH_SIZE.key()
                    + " must be at least 1 (1: no mini-batches), was " + configuredSize);
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        held = new LinkedHashMap<>();
        maxInputs = size(configuredSize, getKeyedStateBackend() instanceof HeapKeyedStateBackend);
    }

    /** The mini-batch size the job's assembler runs with under {@code conf}: job.mini-batch.size, else the default. */
    public static int size(ReadableConfig conf, boolean heapState) {
        return size(conf.getOptional(JobOptions.MINI_BATCH_SIZE).orElse(null), heapState);
    }

    /** {@code configuredSize} where set, else the default of the state backend (heap state: no mini-batches). */
    private static int size(Integer configuredSize, boolean heapState) {
        if (configuredSize != null) {
            return configuredSize;
        }
        return heapState ? 1 : JobOptions.MINI_BATCH_SIZE_OFF_HEAP;
    }

    /** How long the assembler holds inputs under {@code conf}: job.mini-batch.allow-latency, else the default. */
    private static Duration allowLatency(ReadableConfig conf) {
        return conf.getOptional(JobOptions.MINI_BATCH_ALLOW_LATENCY).orElse(conf.get(JobOptions.EMIT_ON_COMPLETION)
                ? JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_COMPLETION : JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK);
    }

    @Override
    public void processElement(StreamRecord<InputRecord> element) throws Exception {
        if (maxInputs == 1) {
            super.processElement(element);
            return;
        }
        // Flink set the key for this input: it is the input's trajectory id.
        held.computeIfAbsent((String) getCurrentKey(), key -> new ArrayList<>(4)).add(element);
        heldBytes += bytesOf(element.getValue());
        if (++heldInputs >= maxInputs || heldBytes >= maxBytes) {
            applyHeldInputs();
        } else if (!flushScheduled) {
            flushScheduled = true;
            long now = getProcessingTimeService().getCurrentProcessingTime();
            getProcessingTimeService().registerTimer(now + allowLatencyMillis, time -> {
                flushScheduled = false;
                applyHeldInputs();
            });
        }
    }

    /**
     * About the heap an input holds: a step's encoding (token ids and all), a fixed guess for the small records
     * (outcomes, verdicts, dead letters) and for a step that came decoded.
     */
    private static long bytesOf(InputRecord input) {
        return input.encodedStep != null ? input.encodedStep.length + SMALL_RECORD_BYTES : SMALL_RECORD_BYTES;
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (heldInputs > 0) {
            heldWatermark = mark; // watermarks only advance: the newest stands for those before it
            return;
        }
        super.processWatermark(mark);
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus status) throws Exception {
        // An idle output drops the watermarks it is given: the held one goes out first.
        applyHeldInputs();
        super.processWatermarkStatus(status);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        applyHeldInputs();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void endInput() throws Exception {
        applyHeldInputs();
        super.endInput();
    }

    /** Applies the held inputs key by key, then passes on the watermark that waited for them. */
    private void applyHeldInputs() throws Exception {
        if (heldInputs == 0) {
            return;
        }
        for (Map.Entry<String, List<StreamRecord<InputRecord>>> key : held.entrySet()) {
            setCurrentKey(key.getKey());
            assembler.beginKey();
            for (StreamRecord<InputRecord> input : key.getValue()) {
                super.processElement(input); // the function sees the input's own timestamp, as it would have
            }
            assembler.endKey();
        }
        held.clear();
        heldInputs = 0;
        heldBytes = 0;
        if (heldWatermark != null) {
            Watermark mark = heldWatermark;
            heldWatermark = null;
            super.processWatermark(mark);
        }
    }
}
