package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.KafkaOptions;
import io.strawless.pipeline.CountersByName;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.Ledger.Kind;
import io.strawless.pipeline.Ledger.Way;
import java.util.HashMap;
import java.util.Map;
import io.strawless.pipeline.assembly.InputValidator.Violation;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The decode stage's second half: what the source could not decode (already a dead letter, so a bad
 * record never fails the job) and what decodes but breaks a rule go to the dead-letter output with the
 * reason; the rest goes on to assembly. Counts records in and dead letters per input topic.
 */
public class ValidateInputs extends ProcessFunction<InputRecord, InputRecord> {

    private final InputValidator validator;
    private final int injectFailures;
    private final long injectFailureAfter;

    private final Map<String, Kind> kindByTopic = new HashMap<>();

    private transient long recordsThisAttempt;
    private transient Ledger ledger;

    private transient CountersByName recordsIn;
    private transient CountersByName deadLetters;
    private transient CountersByName deadLetterReasons;

    public ValidateInputs(ReadableConfig conf) {
        this.validator = new InputValidator(conf);
        this.injectFailures = conf.get(JobOptions.INJECT_FAILURES);
        this.injectFailureAfter = conf.get(JobOptions.INJECT_FAILURE_AFTER);
        kindByTopic.put(conf.get(KafkaOptions.STEPS_TOPIC), Kind.STEPS);
        kindByTopic.put(conf.get(KafkaOptions.OUTCOMES_TOPIC), Kind.OUTCOMES);
        kindByTopic.put(conf.get(KafkaOptions.VERDICTS_TOPIC), Kind.VERDICTS);
    }

    @Override
    public void open(OpenContext openContext) {
        MetricGroup decode = getRuntimeContext().getMetricGroup().addGroup("decode");
        recordsIn = new CountersByName(decode.addGroup("recordsIn"));
        deadLetters = new CountersByName(decode.addGroup("deadLetters"));
        deadLetterReasons = new CountersByName(decode.addGroup("deadLetterReasons"));
        // Every input is counted in; any kind dead-lettered, undecodable or breaking a rule.
        ledger = new Ledger(getRuntimeContext().getMetricGroup()).counting(Way.IN, Way.DEAD_LETTERED);
    }

    /**
     * The kind an input counts as in the books: a decoded record's own (one topic may carry several kinds), the
     * kind its topic carries for undecodable bytes (an unknown topic's as steps).
     */
    Kind kindOf(InputRecord input) {
        return input.deadLetter == null ? Kind.of(input) : kindByTopic.getOrDefault(input.topic, Kind.STEPS);
    }

    @Override
    public void processElement(InputRecord input, Context ctx, Collector<InputRecord> out) {
        if (++recordsThisAttempt == injectFailureAfter
                && getRuntimeContext().getTaskInfo().getAttemptNumber() < injectFailures) {
            throw new InjectedFailure("injected failure " + (getRuntimeContext().getTaskInfo().getAttemptNumber() + 1)
                    + " of " + injectFailures + " (debug.inject-failures)");
        }
        recordsIn.inc(input.topic);
        Kind kind = kindOf(input);
        ledger.count(kind, Way.IN, 1);
        if (input.deadLetter != null) {
            ledger.count(kind, Way.DEAD_LETTERED, 1);
            deadLetters.inc(input.topic);
            deadLetterReasons.inc(reasonName(input.deadLetter.getErrorClass()));
            ctx.output(DeadLetters.TAG, input.deadLetter);
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        Violation violation = validator.check(input, now);
        if (violation != null) {
            ledger.count(kind, Way.DEAD_LETTERED, 1);
            deadLetters.inc(input.topic);
            deadLetterReasons.inc(violation.rule().name());
            ctx.output(DeadLetters.TAG, DeadLetters.of(input, violation.rule().name(), violation.message(), now));
            return;
        }
        out.collect(input);
    }

    /**
     * A dead letter's reason as a metric name: a rule's name as it is, a decoder's exception by its simple class
     * name (the dead letter keeps the full one), since reporters read dots in a name as scopes.
     */
    static String reasonName(String errorClass) {
        return errorClass.substring(errorClass.lastIndexOf('.') + 1);
    }

    /** Thrown on purpose by {@code debug.inject-failures}; its name says so in every log. */
    public static final class InjectedFailure extends RuntimeException {
        InjectedFailure(String message) {
            super(message);
        }
    }
}
