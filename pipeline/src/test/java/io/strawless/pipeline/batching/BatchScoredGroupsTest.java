package io.strawless.pipeline.batching;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.JobOptions;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchScoredGroupsTest {

    private KeyedOneInputStreamOperatorTestHarness<Integer, ScoredGroup, TrainingBatch> harness;

    @BeforeEach
    void setUp() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 3);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new BatchScoredGroups(conf, "outcome", "outcome-1234"), g -> 0, Types.INT);
        harness.setProcessingTime(0);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    private static ScoredGroup group(int size, String prefix, long offset) {
        List<ScoredTrajectory> members = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            members.add(ScoredTrajectory.newBuilder()
                    .setTrajectoryId(prefix + i).setAgentId("a").setTaskId("task")
                    .setOutcomeReward(1.0).setSuccess(true).setSteps(List.of()).build());
        }
        return new ScoredGroup(members, "java", 3, 5,
                List.of(new OffsetRange("agent.steps", 0, offset, offset + 1)));
    }

    private void assertNothingLeft() {
        assertEquals(0, harness.numKeyedStateEntries(), "keyed state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "event-time timers left behind");
        assertEquals(0, harness.numProcessingTimeTimers(), "processing-time timers left behind");
    }

    @Test
    void closesBySizeWithoutSplittingAGroup() throws Exception {
        harness.processElement(new StreamRecord<>(group(2, "a", 10)));
        assertTrue(harness.extractOutputValues().isEmpty());
        harness.processElement(new StreamRecord<>(group(2, "b", 20)));

        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        TrainingBatch batch = out.get(0);
        assertEquals(4, batch.getTrajectories().size(), "the second group is kept whole");
        assertEquals("outcome", batch.getEstimator());
        assertEquals("outcome-1234", batch.getConfigFingerprint());
        assertEquals(3, batch.getMinPolicyVersion());
        assertEquals(5, batch.getMaxPolicyVersion());
        OffsetRange lineage = batch.getLineage().get(0);
        assertEquals(10, lineage.getFirstOffset());
        assertEquals(21, lineage.getLastOffset());
        assertNothingLeft();
    }

    @Test
    void closesByLatency() throws Exception {
        harness.processElement(new StreamRecord<>(group(1, "a", 0)));
        harness.setProcessingTime(499);
        assertTrue(harness.extractOutputValues().isEmpty());

        harness.setProcessingTime(500);

        assertEquals(1, harness.extractOutputValues().size());
        assertNothingLeft();
    }

    @Test
    void drainFlushesWhatIsPending() throws Exception {
        harness.processElement(new StreamRecord<>(group(1, "a", 0)));

        harness.processWatermark(Long.MAX_VALUE);

        assertEquals(1, harness.extractOutputValues().size());
        assertNothingLeft();
    }

    @Test
    void batchIdDependsOnContentNotOnTime() throws Exception {
        harness.processElement(new StreamRecord<>(group(3, "a", 0)));
        harness.setProcessingTime(10_000);
        harness.processElement(new StreamRecord<>(group(3, "a", 0)));

        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(out.get(0).getBatchId(), out.get(1).getBatchId());
    }
}
