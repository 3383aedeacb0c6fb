package io.strawless.ops.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.avro.message.BinaryMessageDecoder;
import org.junit.jupiter.api.Test;

class FleetScriptTest {

    private static final FleetSettings SETTINGS = new FleetSettings(10, 5, 200, 4, 2, 9, 0.05, 0.1, 0.3, 11);
    private static final Instant END = Instant.parse("2025-01-01T12:00:00Z");

    @Test
    void sameSeedSendsTheSameRecords() {
        assertSameRecords(FleetScript.generate(SETTINGS, END), FleetScript.generate(SETTINGS, END));
    }

    /** Under a locale whose digits are not ASCII, as under any other: ids are written with ASCII digits. */
    @Test
    void theMachinesLocaleChangesNoRecord() {
        Locale original = Locale.getDefault();
        try {
            Locale.setDefault(Locale.ROOT);
            FleetScript ascii = FleetScript.generate(SETTINGS, END);
            Locale.setDefault(Locale.forLanguageTag("th-TH-u-nu-thai")); // formats 42 as ๔๒
            FleetScript thai = FleetScript.generate(SETTINGS, END);

            assertSameRecords(ascii, thai);
            for (SentTrajectory trajectory : thai.ledger().trajectories().values()) {
                assertTrue(trajectory.trajectoryId().matches("traj-[0-9]{6}"), trajectory.trajectoryId());
                assertTrue(trajectory.agentId().matches("agent-[0-9]{3}"), trajectory.agentId());
                assertTrue(trajectory.taskId().matches("task-[0-9]{3}"), trajectory.taskId());
            }
        } finally {
            Locale.setDefault(original);
        }
    }

    private static void assertSameRecords(FleetScript expected, FleetScript actual) {
        List<FleetRecord> first = expected.records();
        List<FleetRecord> second = actual.records();
        assertEquals(first.size(), second.size());
        for (int i = 0; i < first.size(); i++) {
            assertEquals(first.get(i).topic(), second.get(i).topic());
            assertEquals(first.get(i).timestamp(), second.get(i).timestamp());
            assertArrayEquals(first.get(i).value(), second.get(i).value());
        }
    }

    @Test
    void recordsGoOutInEventTimeOrderUpToTheEndAndOutcomesAfterTheLastStep() throws Exception {
        FleetScript script = FleetScript.generate(SETTINGS, END);
        assertEquals(
                END.toEpochMilli(),
                script.records().get(script.records().size() - 1).timestamp(),
                "the timeline ends at the given instant");
        Map<String, Long> lastStep = new HashMap<>();
        long previous = Long.MIN_VALUE;
        for (FleetRecord record : valid(script)) {
            assertTrue(record.timestamp() >= previous, "send order follows event time");
            previous = record.timestamp();
            switch (record.topic()) {
                case STEPS -> {
                    StepEvent step = StepEvent.getDecoder().decode(record.value());
                    lastStep.put(step.getTrajectoryId(), step.getEventTime().toEpochMilli());
                }
                case OUTCOMES -> {
                    OutcomeEvent outcome = OutcomeEvent.getDecoder().decode(record.value());
                    assertTrue(outcome.getEventTime().toEpochMilli() > lastStep.get(outcome.getTrajectoryId()));
                }
                case VERDICTS -> {}
            }
        }
    }

    @Test
    void ledgerMatchesTheRecords() throws Exception {
        FleetScript script = FleetScript.generate(SETTINGS, END);
        FleetLedger ledger = script.ledger();
        assertEquals(SETTINGS.trajectories(), ledger.trajectories().size());
        for (InputTopic topic : InputTopic.values()) {
            long valid = switch (topic) {
                case STEPS -> ledger.validSteps();
                case OUTCOMES -> ledger.outcomesSent();
                case VERDICTS -> ledger.verdictsSent();
            };
            assertEquals(valid + ledger.malformed(topic), script.recordsOn(topic), topic.name());
        }
        Map<String, List<StepEvent>> steps = new HashMap<>();
        for (FleetRecord record : valid(script)) {
            if (record.topic() == InputTopic.STEPS) {
                StepEvent step = StepEvent.getDecoder().decode(record.value());
                steps.computeIfAbsent(step.getTrajectoryId(), id -> new ArrayList<>())
                        .add(step);
            }
        }
        for (SentTrajectory sent : ledger.trajectories().values()) {
            List<StepEvent> sentSteps = steps.get(sent.trajectoryId());
            assertEquals(sent.steps(), sentSteps.size());
            for (int i = 0; i < sentSteps.size(); i++) {
                assertEquals(i, sentSteps.get(i).getStepIndex());
                assertEquals(sent.trainable().get(i), sentSteps.get(i).getTrainable());
                assertEquals(sent.groupSize(), sentSteps.get(i).getGroupSize());
            }
            assertEquals(
                    TerminalKind.TERMINATED, sentSteps.get(sentSteps.size() - 1).getTerminal());
        }
        assertTrue(ledger.outcomesSent() < SETTINGS.trajectories(), "some outcomes are withheld");
        assertTrue(!ledger.malformed().isEmpty(), "some records are malformed");
    }

    @Test
    void malformedRecordsDoNotDecode() {
        for (FleetLedger.MalformedRecord bad :
                FleetScript.generate(SETTINGS, END).ledger().malformed()) {
            assertThrows(Exception.class, () -> decoderOf(bad.topic()).decode(bad.value()));
        }
    }

    @Test
    void policyStepsCarryTheTokenIdsAsked() throws Exception {
        FleetScript script = FleetScript.generate(SETTINGS.withTokensPerStep(300), END);
        int policySteps = 0;
        for (FleetRecord record : valid(script)) {
            if (record.topic() == InputTopic.STEPS) {
                StepEvent step = StepEvent.getDecoder().decode(record.value());
                if (step.getTokenIds() != null) {
                    assertEquals(300, step.getTokenIds().size());
                    policySteps++;
                }
            }
        }
        assertTrue(policySteps > 100, "policy steps: " + policySteps);
        IllegalArgumentException refused =
                assertThrows(IllegalArgumentException.class, () -> SETTINGS.withTokensPerStep(-1));
        assertTrue(refused.getMessage().startsWith("tokens-per-step must be at least 0"), refused.getMessage());
    }

    private static BinaryMessageDecoder<?> decoderOf(InputTopic topic) {
        return switch (topic) {
            case STEPS -> StepEvent.getDecoder();
            case OUTCOMES -> OutcomeEvent.getDecoder();
            case VERDICTS -> VerifierSignal.getDecoder();
        };
    }

    /** The script's records minus the malformed ones (which the ledger lists as the same array instances). */
    private static List<FleetRecord> valid(FleetScript script) {
        Set<byte[]> malformed = Collections.newSetFromMap(new IdentityHashMap<>());
        script.ledger().malformed().forEach(bad -> malformed.add(bad.value()));
        return script.records().stream()
                .filter(r -> !malformed.contains(r.value()))
                .toList();
    }
}
