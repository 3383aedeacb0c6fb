package io.strawless.pipeline.batching;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.pipeline.Events;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.Credit;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The output record carries every field where the schema names it (it is built with positional constructors). */
class TrainingBatchesTest {

    @Test
    void everyFieldOfTheScoredTrajectoryIsWhereItsNameSays() {
        // Distinct values everywhere, so that two fields swapped in a constructor call cannot go unnoticed.
        StepEvent first = Events.step("t-1", 0, 100)
                .setReward(0.25)
                .setValue(0.5)
                .setLogprob(-1.5)
                .setTokenIds(List.of(7, 8, 9))
                .setPayloadRef("s3://payloads/0")
                .setPolicyVersion(41)
                .build();
        StepEvent last = Events.step("t-1", 1, 200)
                .setTrainable(false)
                .setReward(null)
                .setPolicyVersion(42)
                .setTerminal(TerminalKind.TERMINATED)
                .build();
        OutcomeEvent outcome = OutcomeEvent.newBuilder(Events.outcome("t-1", 0.75, 3, 300)).setSuccess(false).build();
        AssembledTrajectory trajectory = new AssembledTrajectory("t-1", "agent-9", "task-8", "group-7", 4,
                List.of(first, last), outcome, List.of(), List.of());
        // The tool step has no process reward (NaN), which the batch writes as null.
        Credit credit = new Credit("t-1", new double[] {1.25, 0.0}, new double[] {2.5, 3.5},
                new double[] {-0.625, Double.NaN});

        ScoredTrajectory expected = ScoredTrajectory.newBuilder()
                .setTrajectoryId("t-1")
                .setAgentId("agent-9")
                .setTaskId("task-8")
                .setGroupId("group-7")
                .setOutcomeReward(0.75)
                .setSuccess(false)
                .setOutcomeRevision(3)
                .setBaseline(0.125)
                .setSteps(List.of(
                        ScoredStep.newBuilder()
                                .setStepIndex(0)
                                .setTrainable(true)
                                .setAdvantage(1.25)
                                .setTargetReturn(2.5)
                                .setReward(0.25)
                                .setValue(0.5)
                                .setLogprob(-1.5)
                                .setTokenIds(List.of(7, 8, 9))
                                .setPayloadRef("s3://payloads/0")
                                .setPolicyVersion(41)
                                .setProcessReward(-0.625)
                                .build(),
                        ScoredStep.newBuilder()
                                .setStepIndex(1)
                                .setTrainable(false)
                                .setAdvantage(0.0)
                                .setTargetReturn(3.5)
                                .setPolicyVersion(42)
                                .build()))
                .setSuspect(true)
                .setWeight(0.0)
                .setOutcomeTimedOut(false)
                .setScoringUnit(6)
                .setUnitSize(5)
                .setTerminal(TerminalKind.TERMINATED)
                .build();
        assertEquals(expected, TrainingBatches.scored(trajectory, credit, 0.125, true, 6, 5));
        assertEquals(1.0, TrainingBatches.scored(trajectory, credit, 0.125, false, 6, 5).getWeight());
        // An estimator without process rewards: none on any step.
        Credit withoutProcessRewards = new Credit("t-1", credit.advantages(), credit.returns(), null);
        assertEquals(Arrays.asList(null, null), TrainingBatches.scored(trajectory, withoutProcessRewards, 0.125, true, 6, 5)
                .getSteps().stream().map(ScoredStep::getProcessReward).toList());
    }
}
