package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecord.Kind;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.assembly.InputValidator.Rule;
import io.strawless.pipeline.assembly.InputValidator.Violation;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.util.Collections;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class InputValidatorTest {

    private static final long NOW = 1_000_000;
    private final InputValidator validator = new InputValidator(new Configuration());

    /** Checks the input as decoded and, for a step, as the source reads it in place: both must break the same rule. */
    private Violation check(InputRecord input) throws Exception {
        Violation decoded = validator.check(input, NOW);
        if (input.kind() == Kind.STEP) {
            byte[] encoded = new StepEventCodec().encode(input.getStep());
            InputRecord inPlace = InputRecord.ofStep(
                    input.topic, input.partition, input.offset, input.timestamp, encoded, StepEventCodec.fields(encoded));
            assertEquals(decoded, validator.check(inPlace, NOW), "read in place");
        }
        return decoded;
    }

    @Test
    void validInputsPass() throws Exception {
        assertNull(check(in(step("t1", 0, NOW).build())));
        assertNull(check(in(outcome("t1", 1.0, 0, NOW))));
        assertNull(check(in(verdict("t1", 0, "v1", 0.5, NOW))));
    }

    @Test
    void eachRuleNamesWhatIsWrong() throws Exception {
        assertEquals(Rule.INVALID_STEP_INDEX, check(in(step("t1", -1, NOW).build())).rule());
        assertEquals(Rule.INVALID_STEP_INDEX, check(in(step("t1", 10_001, NOW).build())).rule());
        assertEquals(Rule.INVALID_STEP_INDEX, check(in(verdict("t1", -3, "v", 0.5, NOW))).rule());
        assertEquals(Rule.MISSING_ID, check(in(step("", 0, NOW).build())).rule());
        assertEquals(Rule.INVALID_POLICY_VERSION, check(in(step("t1", 0, NOW).setPolicyVersion(-1).build())).rule());
        assertNull(check(in(step("t1", 0, NOW).setPolicyVersion(Long.MAX_VALUE).build())));
        assertEquals(Rule.MISSING_ID, check(in(verdict("t1", 0, " ", 0.5, NOW))).rule());

        Violation nan = check(in(step("t1", 0, NOW).setReward(Double.NaN).build()));
        assertEquals(Rule.NON_FINITE_NUMBER, nan.rule());
        assertTrue(nan.message().contains("reward"), nan.message());
        assertEquals(Rule.NON_FINITE_NUMBER, check(in(step("t1", 0, NOW).setValue(Double.POSITIVE_INFINITY).build())).rule());
        assertEquals(Rule.NON_FINITE_NUMBER, check(in(outcome("t1", Double.NEGATIVE_INFINITY, 0, NOW))).rule());
        assertEquals(Rule.NON_FINITE_NUMBER, check(in(verdict("t1", 0, "v", Double.NaN, NOW))).rule());

        assertEquals(Rule.MISSING_BOOTSTRAP_VALUE,
                check(in(step("t1", 0, NOW).setTerminal(TerminalKind.TRUNCATED).build())).rule());
        assertEquals(Rule.FUTURE_EVENT_TIME, check(in(step("t1", 0, NOW + 3_600_000).build())).rule());
        assertEquals(Rule.OVERSIZED_PAYLOAD, check(in(step("t1", 0, NOW)
                .setTokenIds(Collections.nCopies(40_000, 7)).build())).rule());
    }

    /** The reliability model and the process estimator read a score as in [0, 1]; one on another scale is refused. */
    @Test
    void aVerifierScoresOnTheUnitInterval() throws Exception {
        assertNull(check(in(verdict("t1", 0, "v", 0.0, NOW))));
        assertNull(check(in(verdict("t1", 0, "v", 1.0, NOW))));
        assertNull(check(in(VerifierSignal.newBuilder(verdict("t1", 0, "v", 0.5, NOW)).setConfidence(1.0).build())));

        Violation tenPointScale = check(in(verdict("t1", 0, "v", 7.0, NOW)));
        assertEquals(Rule.SCORE_OUT_OF_RANGE, tenPointScale.rule());
        assertTrue(tenPointScale.message().startsWith("score is 7.0, outside [0, 1]"), tenPointScale.message());
        assertEquals(Rule.SCORE_OUT_OF_RANGE, check(in(verdict("t1", 0, "v", -0.5, NOW))).rule());
        // Confidence goes unused: one in percent does not cost the verifier its score.
        assertNull(check(in(VerifierSignal.newBuilder(verdict("t1", 0, "v", 0.5, NOW)).setConfidence(95.0).build())));
    }

    @Test
    void aGroupSizeIsAtLeastOne() throws Exception {
        assertNull(check(in(step("t1", 0, NOW).setGroupId("g1").build())), "a size not known: null");
        assertNull(check(in(step("t1", 0, NOW).setGroupId("g1").setGroupSize(1).build())));
        // Never reached: the group waits for job.group-timeout, as for a size not known, and closes partial.
        assertNull(check(in(step("t1", 0, NOW).setGroupId("g1").setGroupSize(Integer.MAX_VALUE).build())));

        Violation zero = check(in(step("t1", 0, NOW).setGroupId("g1").setGroupSize(0).build()));
        assertNotNull(zero, "group_size 0 must be refused, not read as a size not known");
        assertEquals(Rule.INVALID_GROUP_SIZE, zero.rule());
        assertTrue(zero.message().startsWith("group_size 0 is less than 1"), zero.message());
        assertEquals(Rule.INVALID_GROUP_SIZE,
                check(in(step("t1", 0, NOW).setGroupId("g1").setGroupSize(-4).build())).rule());
        assertEquals(Rule.INVALID_GROUP_SIZE,
                check(in(step("t1", 0, NOW).setGroupId("g1").setGroupSize(Integer.MIN_VALUE).build())).rule());
        // Without a group_id the size means nothing: a producer whose integers cannot be null (proto3, Go) writes 0.
        assertNull(check(in(step("t1", 0, NOW).setGroupSize(0).build())), "0 without a group_id");
        assertNull(check(in(step("t1", 0, NOW).setGroupSize(-4).build())), "nor any other size");
    }

    @Test
    void idsAndLengthsReadAsJavaReadsThem() throws Exception {
        // Blank is String.isBlank (an em space is whitespace, a no-break space is not); a payload_ref's length
        // counts chars, not UTF-8 bytes.
        assertEquals(Rule.MISSING_ID, check(in(step("t1", 0, NOW).setAgentId(" \t").build())).rule());
        assertEquals(Rule.MISSING_ID, check(in(step("t1", 0, NOW).setTaskId("\u2003").build())).rule());
        assertNull(check(in(step("t1", 0, NOW).setTaskId("\u00a0").build())));
        assertNull(check(in(step("t1", 0, NOW).setPayloadRef("é".repeat(2_048)).build())));
        assertEquals(Rule.OVERSIZED_PAYLOAD, check(in(step("t1", 0, NOW).setPayloadRef("é".repeat(2_049)).build())).rule());
        assertNull(check(in(step("t1", 0, NOW).setTokenIds(Collections.nCopies(32_768, 7)).build())));
    }

    @Test
    void everyIdHasAtMost256Characters() throws Exception {
        String longest = "é".repeat(InputValidator.MAX_ID_LENGTH);
        String tooLong = longest + "x";
        assertNull(check(in(step(longest, 0, NOW).setAgentId(longest).setTaskId(longest).setGroupId(longest)
                .setObservationKey(longest).build())));
        assertNull(check(in(outcome(longest, 1.0, 0, NOW))));
        assertNull(check(in(verdict(longest, 0, longest, 0.5, NOW))));

        assertEquals(Rule.OVERSIZED_ID, check(in(step(tooLong, 0, NOW).build())).rule());
        assertEquals(Rule.OVERSIZED_ID, check(in(step("t1", 0, NOW).setAgentId(tooLong).build())).rule());
        assertEquals(Rule.OVERSIZED_ID, check(in(step("t1", 0, NOW).setTaskId(tooLong).build())).rule());
        assertEquals(Rule.OVERSIZED_ID, check(in(step("t1", 0, NOW).setGroupId(tooLong).build())).rule());
        Violation observation = check(in(step("t1", 0, NOW).setObservationKey(tooLong).build()));
        assertEquals(Rule.OVERSIZED_ID, observation.rule());
        assertTrue(observation.message().contains("257 characters, more than 256"), observation.message());
        assertEquals(Rule.OVERSIZED_ID, check(in(outcome(tooLong, 1.0, 0, NOW))).rule());
        assertEquals(Rule.OVERSIZED_ID, check(in(verdict(tooLong, 0, "v", 0.5, NOW))).rule());
        Violation verifier = check(in(verdict("t1", 0, tooLong, 0.5, NOW)));
        assertEquals("verifier_id has 257 characters, more than 256", verifier.message());
        OutcomeEvent source = outcome("t1", 1.0, 0, NOW);
        source.setSource(tooLong); // kept with the progress, rewritten with every input
        assertEquals("source has 257 characters, more than 256", check(in(source)).message());
    }
}
