package io.strawless.pipeline;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.assembly.AssembleTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class DrainingKeyedProcessOperatorTest {

    /** A drain of idle sources ends the input without the maximal watermark: the timers fire all the same. */
    @Test
    void theEndOfInputFiresEveryTimerWithoutAWatermark() throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new DrainingKeyedProcessOperator<>(new AssembleTrajectory(new Configuration())),
                        InputRecord::trajectoryId, StringKeys.TYPE)) {
            harness.open();
            InputRecord step = in(step("waits-for-its-outcome", 0, 1_000).build());
            harness.processElement(new StreamRecord<>(step, 1_000));
            assertTrue(harness.getSideOutput(AssembleTrajectory.UNSCORED) == null, "nothing times out before the end");

            harness.endInput();

            List<UnscoredTrajectory> unscored = harness.getSideOutput(AssembleTrajectory.UNSCORED).stream()
                    .map(StreamRecord::getValue).toList();
            assertEquals(1, unscored.size());
            assertEquals(UnscoredReason.INCOMPLETE, unscored.get(0).getReason());
            assertEquals(0, harness.numEventTimeTimers(), "every timer fired, the finished marker's too");
            assertEquals(0, harness.numKeyedStateEntries());
        }
    }
}
