package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.Ledger.Kind;
import io.strawless.pipeline.RecordedMetrics;
import io.strawless.schemas.DeadLetter;
import java.time.Instant;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class ValidateInputsTest {

    /**
     * One topic may carry steps and outcomes: the books count each decoded record as what it is, so that every
     * kind's in and out still balance (counted by topic, the outcomes came in as steps and left as outcomes).
     */
    @Test
    void aSharedTopicsRecordsCountAsWhatTheyAre() {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.STEPS_TOPIC, "agent.events");
        conf.set(KafkaOptions.OUTCOMES_TOPIC, "agent.events");
        ValidateInputs validate = new ValidateInputs(conf);

        assertEquals(Kind.STEPS, validate.kindOf(at("agent.events", in(step("t1", 0, 100).build()))));
        assertEquals(Kind.OUTCOMES, validate.kindOf(at("agent.events", in(outcome("t1", 1.0, 0, 100)))));
        assertEquals(Kind.VERDICTS, validate.kindOf(in(verdict("t1", 0, "v", 1.0, 100))));
        // Bytes that did not decode have no kind of their own: their topic's (of a shared one, either).
        assertEquals(Kind.VERDICTS, validate.kindOf(deadLetter("agent.verdicts")));
        assertEquals(Kind.STEPS, validate.kindOf(deadLetter("somewhere.else")));
    }

    /** Dead letters are counted by reason too, so that a rule's count can be watched (FUTURE_EVENT_TIME, say). */
    @Test
    void deadLettersAreCountedByReason() throws Exception {
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new ValidateInputs(new Configuration())), metrics.environment())) {
            harness.open();
            harness.processElement(new StreamRecord<>(in(step("t1", 0, 100).build())));
            harness.processElement(new StreamRecord<>(in(verdict("t1", 0, "v", 7.0, 100))));
            harness.processElement(new StreamRecord<>(in(step("t2", 0, Long.MAX_VALUE / 2).build())));
            harness.processElement(new StreamRecord<>(deadLetter("agent.steps")));
            harness.processElement(new StreamRecord<>(InputRecord.ofDeadLetter("agent.steps", 0, 2, 100,
                    DeadLetter.newBuilder(deadLetter("agent.steps").deadLetter)
                            .setErrorClass("org.apache.avro.AvroRuntimeException").build())));

            assertEquals(1, harness.extractOutputValues().size());
            assertEquals(1, metrics.count("decode.deadLetterReasons.SCORE_OUT_OF_RANGE"));
            assertEquals(1, metrics.count("decode.deadLetterReasons.FUTURE_EVENT_TIME"));
            assertEquals(1, metrics.count("decode.deadLetterReasons.BAD_HEADER"));
            assertEquals(1, metrics.count("decode.deadLetterReasons.AvroRuntimeException"));
            assertEquals(3, metrics.count("decode.deadLetters.agent.steps"));
        }
    }

    private static InputRecord at(String topic, InputRecord record) {
        record.topic = topic;
        return record;
    }

    private static InputRecord deadLetter(String topic) {
        return InputRecord.ofDeadLetter(topic, 0, 1, 100, DeadLetter.newBuilder().setTopic(topic).setPartition(0)
                .setOffset(1).setErrorClass("BAD_HEADER").setErrorMessage("not Avro")
                .setFailedAt(Instant.ofEpochMilli(100)).build());
    }
}
