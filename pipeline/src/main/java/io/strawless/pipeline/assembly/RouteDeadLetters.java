package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.schemas.DeadLetter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Splits what the source could not decode (already turned into dead letters by the deserializer, so
 * a bad record never fails the job) from the inputs to assemble, and counts both per input topic.
 */
public class RouteDeadLetters extends ProcessFunction<InputRecord, InputRecord> {

    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("dead-letters", TypeInformation.of(DeadLetter.class));

    private transient MetricGroup inputs;
    private transient MetricGroup deadLetters;

    @Override
    public void open(OpenContext openContext) {
        MetricGroup decode = getRuntimeContext().getMetricGroup().addGroup("decode");
        inputs = decode.addGroup("recordsIn");
        deadLetters = decode.addGroup("deadLetters");
    }

    @Override
    public void processElement(InputRecord input, Context ctx, Collector<InputRecord> out) {
        counter(inputs, input.topic).inc();
        if (input.deadLetter != null) {
            counter(deadLetters, input.topic).inc();
            ctx.output(DEAD_LETTERS, input.deadLetter);
        } else {
            out.collect(input);
        }
    }

    /** Flink hands back the already registered counter for a name seen before. */
    private static Counter counter(MetricGroup group, String topic) {
        return group.counter(topic);
    }
}
