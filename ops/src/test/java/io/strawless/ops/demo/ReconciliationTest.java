package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.fleet.InputTopic;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The topic-side balance, in = scored + dead-lettered + unscored: it holds for a correct job's output only. */
class ReconciliationTest {

    private final CreditOutput correct = CorrectOutput.output();

    @Test
    void aCorrectJobsOutputBalances() {
        Reconciliation balance = reconcile(correct);
        assertTrue(balance.holds(), balance.toString());
        assertTrue(balance.steps().deadLettered() > 0 && balance.steps().unscored() > 0,
                "the fleet sent malformed steps and withheld outcomes: " + balance);
    }

    @Test
    void aLostUnscoredTrajectoryIsMissedOnTheStepsTopic() {
        List<UnscoredTrajectory> unscored = new ArrayList<>(correct.unscored());
        UnscoredTrajectory lost = unscored.remove(0);
        Reconciliation balance = reconcile(new CreditOutput(correct.batches(), correct.deadLetters(), unscored));
        assertFalse(balance.holds());
        assertFalse(balance.steps().holds(), balance.toString());
        assertEquals(balance.steps().in() - lost.getSteps().size(),
                balance.steps().scored() + balance.steps().deadLettered() + balance.steps().unscored());
        assertTrue(balance.outcomes().holds(), "it had no outcome: " + balance);
    }

    @Test
    void aBatchCommittedTwiceIsCountedTwiceOnBothTopics() {
        List<TrainingBatch> batches = new ArrayList<>(correct.batches());
        batches.add(batches.get(0));
        Reconciliation balance = reconcile(new CreditOutput(batches, correct.deadLetters(), correct.unscored()));
        assertFalse(balance.steps().holds(), balance.toString());
        assertFalse(balance.outcomes().holds(), balance.toString());
    }

    @Test
    void aLostDeadLetterIsMissedOnItsTopic() {
        String steps = InputTopic.STEPS.name(CorrectOutput.CONF);
        List<DeadLetter> deadLetters = new ArrayList<>(correct.deadLetters());
        deadLetters.remove(deadLetters.stream().filter(d -> d.getTopic().equals(steps)).findFirst().orElseThrow());
        Reconciliation balance = reconcile(new CreditOutput(correct.batches(), deadLetters, correct.unscored()));
        assertFalse(balance.holds());
        assertFalse(balance.steps().holds(), balance.toString());
        assertTrue(balance.outcomes().holds(), balance.toString());
    }

    private static Reconciliation reconcile(CreditOutput output) {
        return Reconciliation.of(CorrectOutput.recordsIn(), output, CorrectOutput.CONF);
    }
}
