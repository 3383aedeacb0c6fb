package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.Ledger.Kind;
import io.strawless.schemas.DeadLetter;
import java.time.Instant;
import org.apache.flink.configuration.Configuration;
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
