package io.strawless.pipeline.credit;

import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.batching.ScoredGroup;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ScoreTrajectoriesTest {

    private static final long TTL = 10_000;
    private KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, ScoredGroup> harness;

    private void start(Configuration conf) throws Exception {
        conf.set(JobOptions.BASELINE_TTL, Duration.ofMillis(TTL));
        conf.set(JobOptions.GROUP_TIMEOUT, Duration.ofMillis(1_000));
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new ScoreTrajectories(conf), AssembledTrajectory::taskId, Types.STRING);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    static AssembledTrajectory trajectory(String id, String group, int groupSize, double reward, long policy) {
        List<StepEvent> steps = List.of(
                step(id, 0, 100).setPolicyVersion(policy).build(),
                step(id, 1, 100).setTrainable(false).setPolicyVersion(policy).build(),
                step(id, 2, 100).setTerminal(TerminalKind.TERMINATED).setPolicyVersion(policy).build());
        return new AssembledTrajectory(id, "agent-1", "task-1", group, groupSize, steps,
                outcome(id, reward, 0, 100), List.of(), List.of());
    }

    private void send(AssembledTrajectory t, long time) throws Exception {
        harness.processElement(new StreamRecord<>(t, time));
    }

    private List<ScoredTrajectory> scored() {
        return harness.extractOutputValues().stream().flatMap(g -> g.trajectories().stream()).toList();
    }

    private List<UnscoredTrajectory> unscored() {
        var side = harness.getSideOutput(ScoreTrajectories.UNSCORED);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    @Test
    void outcomeEstimatorUsesTheRunningTaskBaselineAndSkipsToolSteps() throws Exception {
        start(new Configuration());
        double[] rewards = {1.0, 0.0, 1.0};
        for (int i = 0; i < rewards.length; i++) {
            send(trajectory("t" + i, null, 0, rewards[i], 1), 100 + i);
        }
        List<ScoredTrajectory> out = scored();
        // Baselines: 0 (nothing seen), then mean(1) = 1, then mean(1, 0) = 0.5.
        double[] baselines = {0.0, 1.0, 0.5};
        for (int i = 0; i < 3; i++) {
            ScoredTrajectory t = out.get(i);
            assertEquals(baselines[i], t.getBaseline(), 1e-12);
            List<ScoredStep> steps = t.getSteps();
            assertEquals(rewards[i] - baselines[i], steps.get(0).getAdvantage(), 1e-12);
            assertEquals(0.0, steps.get(1).getAdvantage(), "tool output gets no credit");
            assertEquals(rewards[i], steps.get(2).getTargetReturn(), 1e-12);
        }

        harness.processWatermark(102 + TTL);
        assertEquals(0, harness.numKeyedStateEntries(), "the task's baseline is forgotten after its TTL");
        assertEquals(0, harness.numEventTimeTimers());
    }

    @Test
    void baselineRecurrenceTurnsIntoAnExponentialAverage() {
        TaskBaseline b = TaskBaseline.NONE;
        for (int i = 0; i < 10; i++) {
            b = b.update(1.0, 0.9); // the first 10 outcomes: a plain mean
        }
        assertEquals(1.0, b.mean(), 1e-12);
        b = b.update(0.0, 0.9); // 11th: weight max(1/11, 0.1) = 0.1
        assertEquals(0.9, b.mean(), 1e-12);
    }

    @Test
    void staleTrajectoriesAreRoutedToUnscored() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MAX_POLICY_LAG, 2L);
        start(conf);

        send(trajectory("new", null, 0, 1.0, 10), 100);
        send(trajectory("ok", null, 0, 1.0, 8), 101);
        send(trajectory("old", null, 0, 1.0, 7), 102);

        assertEquals(List.of("new", "ok"), scored().stream().map(ScoredTrajectory::getTrajectoryId).toList());
        assertEquals(UnscoredReason.STALE, unscored().get(0).getReason());
        assertEquals("old", unscored().get(0).getTrajectoryId());
    }

    @Test
    void lineageAndPolicyRangeTravelWithTheGroup() throws Exception {
        start(new Configuration());
        send(trajectory("t1", null, 0, 1.0, 4), 100);
        ScoredGroup group = harness.extractOutputValues().get(0);
        assertEquals(4, group.minPolicyVersion());
        assertEquals(4, group.maxPolicyVersion());
        assertTrue(group.backend().length() > 0);
    }
}
