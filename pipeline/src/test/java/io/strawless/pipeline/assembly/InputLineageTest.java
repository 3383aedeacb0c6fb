package io.strawless.pipeline.assembly;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.strawless.schemas.OffsetRange;
import java.util.List;
import org.junit.jupiter.api.Test;

class InputLineageTest {

    @Test
    void keepsTheFirstAndLastOffsetOfEachTopicPartition() {
        InputLineage lineage = InputLineage.NONE
                .with("agent.steps", 3, 10)
                .with("agent.outcomes", 0, 7)
                .with("agent.steps", 3, 14)
                .with("agent.steps", 3, 9) // read out of order after a restart
                .with("agent.steps", 4, 1);

        assertEquals(List.of(
                        new OffsetRange("agent.steps", 3, 9L, 14L),
                        new OffsetRange("agent.outcomes", 0, 7L, 7L),
                        new OffsetRange("agent.steps", 4, 1L, 1L)),
                lineage.ranges());
    }

    @Test
    void neverChangesAnEarlierValue() {
        // The heap state backend may be writing the previous value to a checkpoint while the next input arrives.
        InputLineage before = InputLineage.NONE.with("agent.steps", 0, 5);
        InputLineage after = before.with("agent.steps", 0, 8);

        assertEquals(List.of(new OffsetRange("agent.steps", 0, 5L, 5L)), before.ranges());
        assertEquals(List.of(new OffsetRange("agent.steps", 0, 5L, 8L)), after.ranges());
        assertSame(after, after.with("agent.steps", 0, 6), "an offset already covered changes nothing");
    }
}
