package io.strawless.pipeline;

import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.watermark.Watermark;

/**
 * Runs a {@link KeyedProcessFunction} like {@code keyBy(...).process(...)} does, and when its input ends (a
 * stop-with-savepoint {@code --drain}, or the end of a bounded backfill) fires every event-time timer, as the
 * final maximal watermark would.
 *
 * <p>That watermark does not always come: Flink drops it when the sources were idle at the drain (no
 * record for {@code job.source-idleness}; FLINK-40499, open in Flink 2.2). A quiet job stopped with
 * {@code --drain} would then keep its open trajectories, pending groups and batches in the savepoint instead
 * of timing them out and publishing them. When the watermark does come first, its timers have fired and this
 * finds none left.
 *
 * <p>It also has a function that keeps an {@link OpenWork} gauge recount it from the restored state.
 */
public class DrainingKeyedProcessOperator<K, IN, OUT> extends KeyedProcessOperator<K, IN, OUT>
        implements BoundedOneInput {

    private static final long serialVersionUID = 1L;

    public DrainingKeyedProcessOperator(KeyedProcessFunction<K, IN, OUT> function) {
        super(function);
    }

    @Override
    public void open() throws Exception {
        super.open();
        if (userFunction instanceof OpenWork.Recounted recounted) {
            recounted.openWork().restored(recounted.countOpenWork(getKeyedStateBackend()));
        }
    }

    @Override
    public void endInput() throws Exception {
        if (timeServiceManager != null) {
            timeServiceManager.advanceWatermark(Watermark.MAX_WATERMARK);
        }
    }
}
