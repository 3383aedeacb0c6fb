package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.JobOptions;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Reassembles one trajectory (the key is its id) from its step events, outcome and verifier signals,
 * which arrive on three topics, in any order, and possibly twice.
 *
 * <p>The trajectory is emitted as soon as its steps are contiguous from 0 up to a terminal step and
 * its outcome has arrived. Every wait is bounded by one event-time timer, pushed forward by each new
 * input: when it fires, whatever arrived goes to the unscored side output with the reason, and all
 * state of the key is cleared. Completion clears it too, so an idle key holds no state.
 */
public class AssembleTrajectory extends KeyedProcessFunction<String, InputRecord, AssembledTrajectory> {

    public static final OutputTag<UnscoredTrajectory> UNSCORED =
            new OutputTag<>("unscored", TypeInformation.of(UnscoredTrajectory.class));

    private final long outcomeTimeoutMillis;

    private transient MapState<Integer, StepEvent> steps;
    private transient ValueState<OutcomeEvent> outcome;
    private transient ListState<VerifierSignal> verdicts;
    private transient MapState<String, OffsetRange> lineage;
    private transient ValueState<AssemblyProgress> progress;

    private transient Counter stepsIn;
    private transient Counter outcomesIn;
    private transient Counter verdictsIn;
    private transient Counter duplicateSteps;
    private transient Counter assembled;
    private transient MetricGroup unscoredByReason;

    public AssembleTrajectory(ReadableConfig conf) {
        this.outcomeTimeoutMillis = conf.get(JobOptions.OUTCOME_TIMEOUT).toMillis();
    }

    @Override
    public void open(OpenContext openContext) {
        steps = getRuntimeContext().getMapState(new MapStateDescriptor<>("steps", Integer.class, StepEvent.class));
        outcome = getRuntimeContext().getState(new ValueStateDescriptor<>("outcome", OutcomeEvent.class));
        verdicts = getRuntimeContext().getListState(new ListStateDescriptor<>("verdicts", VerifierSignal.class));
        lineage = getRuntimeContext().getMapState(new MapStateDescriptor<>("lineage", String.class, OffsetRange.class));
        progress = getRuntimeContext().getState(new ValueStateDescriptor<>("progress", AssemblyProgress.class));

        MetricGroup metrics = getRuntimeContext().getMetricGroup().addGroup("assembly");
        stepsIn = metrics.counter("stepsIn");
        outcomesIn = metrics.counter("outcomesIn");
        verdictsIn = metrics.counter("verdictsIn");
        duplicateSteps = metrics.counter("duplicateSteps");
        assembled = metrics.counter("trajectoriesAssembled");
        unscoredByReason = metrics.addGroup("unscored");
    }

    @Override
    public void processElement(InputRecord input, Context ctx, Collector<AssembledTrajectory> out) throws Exception {
        AssemblyProgress current = progress.value();
        if (current == null) {
            current = AssemblyProgress.EMPTY;
        }
        switch (input.kind()) {
            case STEP -> current = addStep(input.step, current);
            case OUTCOME -> addOutcome(input.outcome);
            case VERDICT -> {
                verdictsIn.inc();
                verdicts.add(input.verdict);
            }
            case DEAD_LETTER -> throw new IllegalArgumentException("dead letters are routed before assembly");
        }
        recordLineage(input);

        if (current.stepsComplete() && outcome.value() != null) {
            out.collect(assemble());
            assembled.inc();
            clear(ctx, current);
            return;
        }
        progress.update(pushDeadline(ctx, current));
    }

    private AssemblyProgress addStep(StepEvent step, AssemblyProgress current) throws Exception {
        stepsIn.inc();
        if (steps.contains(step.getStepIndex())) {
            // Producers retry: an at-least-once agent may send a step twice. The first copy wins.
            duplicateSteps.inc();
            return current;
        }
        steps.put(step.getStepIndex(), step);
        int terminal = step.getTerminal() == TerminalKind.NONE ? current.terminalIndex() : step.getStepIndex();
        return new AssemblyProgress(current.distinctSteps() + 1, terminal, current.deadline());
    }

    private void addOutcome(OutcomeEvent event) throws Exception {
        outcomesIn.inc();
        OutcomeEvent known = outcome.value();
        // A later revision supersedes an earlier one; an older one arriving late is kept out.
        if (known == null || event.getRevision() >= known.getRevision()) {
            outcome.update(event);
        }
    }

    private void recordLineage(InputRecord input) throws Exception {
        String partitionKey = input.topic + "/" + input.partition;
        OffsetRange range = lineage.get(partitionKey);
        if (range == null) {
            lineage.put(partitionKey, new OffsetRange(input.topic, input.partition, input.offset, input.offset));
        } else {
            range.setFirstOffset(Math.min(range.getFirstOffset(), input.offset));
            range.setLastOffset(Math.max(range.getLastOffset(), input.offset));
            lineage.put(partitionKey, range);
        }
    }

    /** Every input restarts the wait: the timer sits one timeout after the newest event time seen. */
    private AssemblyProgress pushDeadline(Context ctx, AssemblyProgress current) {
        long deadline = ctx.timestamp() + outcomeTimeoutMillis;
        if (deadline <= current.deadline()) {
            return current;
        }
        if (current.deadline() != Long.MIN_VALUE) {
            ctx.timerService().deleteEventTimeTimer(current.deadline());
        }
        ctx.timerService().registerEventTimeTimer(deadline);
        return new AssemblyProgress(current.distinctSteps(), current.terminalIndex(), deadline);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<AssembledTrajectory> out) throws Exception {
        AssemblyProgress current = progress.value();
        if (current == null || current.deadline() != timestamp) {
            return; // a timer deleted by a racing completion is harmless
        }
        UnscoredReason reason;
        String detail;
        if (current.distinctSteps() == 0) {
            reason = UnscoredReason.UNKNOWN_TRAJECTORY;
            detail = "outcome or verdicts arrived but no step did within " + outcomeTimeoutMillis + " ms";
        } else if (current.stepsComplete()) {
            reason = UnscoredReason.OUTCOME_TIMEOUT;
            detail = "steps complete, no outcome within " + outcomeTimeoutMillis + " ms";
        } else {
            reason = UnscoredReason.INCOMPLETE;
            detail = current.terminalIndex() < 0
                    ? "no terminal step within " + outcomeTimeoutMillis + " ms (" + current.distinctSteps() + " steps)"
                    : "steps missing before terminal step " + current.terminalIndex() + " (" + current.distinctSteps() + " present)";
        }
        unscoredByReason.counter(reason.name()).inc(); // Flink returns the registered counter on repeat calls
        ctx.output(UNSCORED, unscored(ctx.getCurrentKey(), reason, detail, ctx.timerService().currentProcessingTime()));
        clear(ctx, current);
    }

    private AssembledTrajectory assemble() throws Exception {
        List<StepEvent> ordered = new ArrayList<>();
        steps.values().forEach(ordered::add);
        ordered.sort(Comparator.comparingInt(StepEvent::getStepIndex));
        StepEvent first = ordered.get(0);
        return new AssembledTrajectory(
                first.getTrajectoryId(),
                first.getAgentId(),
                first.getTaskId(),
                first.getGroupId(),
                first.getGroupSize() == null ? 0 : first.getGroupSize(),
                ordered,
                outcome.value(),
                listOf(verdicts.get()),
                listOf(lineage.values()));
    }

    private UnscoredTrajectory unscored(String trajectoryId, UnscoredReason reason, String detail, long now) throws Exception {
        List<StepEvent> ordered = listOf(steps.values());
        ordered.sort(Comparator.comparingInt(StepEvent::getStepIndex));
        OutcomeEvent known = outcome.value();
        return UnscoredTrajectory.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setReason(reason)
                .setDetail(detail)
                .setRoutedAt(java.time.Instant.ofEpochMilli(now))
                .setSteps(ordered)
                .setOutcomes(known == null ? List.of() : List.of(known))
                .setVerdicts(listOf(verdicts.get()))
                .build();
    }

    private void clear(Context ctx, AssemblyProgress current) {
        if (current.deadline() != Long.MIN_VALUE) {
            ctx.timerService().deleteEventTimeTimer(current.deadline());
        }
        steps.clear();
        outcome.clear();
        verdicts.clear();
        lineage.clear();
        progress.clear();
    }

    private static <T> List<T> listOf(Iterable<T> items) {
        List<T> list = new ArrayList<>();
        if (items != null) {
            items.forEach(list::add);
        }
        return list;
    }
}
