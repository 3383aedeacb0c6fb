package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.CountersByName;
import io.strawless.pipeline.EventTimes;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.JobOptions.OutcomeTimeoutPolicy;
import io.strawless.pipeline.JobOptions.VerifierTimeoutPolicy;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.Ledger.Kind;
import io.strawless.pipeline.Ledger.Way;
import io.strawless.pipeline.OpenWork;
import io.strawless.pipeline.assembly.AssemblyProgress.Phase;
import io.strawless.pipeline.assembly.InputValidator.Rule;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.flink.util.TimeUtils;

/**
 * Reassembles one trajectory (the key is its id) from its step events, outcome and verifier signals,
 * which arrive on three topics, in any order, and possibly twice.
 *
 * <p>The trajectory is complete when its steps are contiguous from 0 up to a terminal step, its
 * outcome has arrived and, where {@code job.required-verifiers} is set, every trainable step has those
 * verdicts. It is emitted when the watermark then passes its newest input, so that verdicts with
 * earlier event times, read later from a slower topic, are attached. Every wait is bounded by the
 * key's one event-time timer: when an unfinished trajectory's timer fires, whatever arrived goes to
 * the unscored output with the reason, or, by policy, is scored and marked so: without its outcome
 * ({@code job.outcome-timeout-policy=PROCESS_ONLY}), or without all of its required verdicts
 * ({@code job.verifier-timeout-policy=SCORE}, the default). An outcome revision replaces the outcome but moves no
 * wait, so that revisions cannot hold a trajectory open. An input read before the watermark passes the wait but
 * with an event time past it (a backfill reads some partitions ahead) is held until the timer fires ({@link HeldInput}).
 *
 * <p>The job runs it in mini-batches ({@link MiniBatchAssembler}): the inputs of one key in a mini-batch share a
 * session, which reads and writes the key's state once. Without one, each input is a session of its own.
 *
 * <p>After a trajectory is emitted or timed out, only a small marker stays (until
 * {@code job.finished-retention}), so that stragglers are routed with a reason (LATE, LATE_REVISION)
 * rather than opening a trajectory that can never complete. Its timer clears it: an idle key holds
 * no state.
 */
public class AssembleTrajectory extends KeyedProcessFunction<String, InputRecord, AssembledTrajectory>
        implements OpenWork.Recounted {

    /** Name of the state that exists exactly while a trajectory is open. */
    private static final String PROGRESS = "progress";

    public static final OutputTag<UnscoredTrajectory> UNSCORED =
            new OutputTag<>("unscored", TypeInformation.of(UnscoredTrajectory.class));

    private final long outcomeTimeoutMillis;
    private final long inactivityTimeoutMillis;
    private final long verifierTimeoutMillis;
    private final long allowedLatenessMillis;
    private final long finishedRetentionMillis;
    private final boolean emitOnCompletion;
    /** job.outcome-timeout-policy=PROCESS_ONLY under the process estimator. */
    private final boolean scoreTimedOutOnProcess;
    private final Set<String> requiredVerifiers;
    /** job.verifier-timeout-policy=UNSCORED. */
    private final boolean unscoredOnVerifierTimeout;
    private final int maxVerdicts;

    /**
     * The steps that arrived, in arrival order, as Avro single-object encodings: mostly the very bytes read from
     * Kafka ({@link InputRecord#encodedStep}). A step waits here from its arrival until its trajectory leaves, often
     * across several checkpoints, and the heap state backend writes every value at every checkpoint: as bytes, a
     * checkpoint copies them instead of encoding the same steps again (profiled, that was most of the checkpoints'
     * cost).
     *
     * <p>A list, not a map by index: on RocksDB the steps a session brings are one append (a merge, no read), the
     * trajectory is read with one lookup and dropped with one delete, where a map entry per step cost a lookup and a
     * write per step and a seek plus a delete per step when it left (measured, the assembler's RocksDB calls were
     * most of the job's CPU). The progress's bits say which indices arrived, and it keeps the fields every step must
     * repeat, so only a duplicate, or a step that disagrees with them, reads the list.
     */
    private transient ListState<byte[]> steps;
    private transient StepEventCodec stepCodec;
    private transient ListState<VerifierSignal> verdicts;
    private transient ValueState<AssemblyProgress> progress;
    private transient ValueState<FinishedTrajectory> finished;
    /**
     * Inputs of the open trajectory read with event times past its deadline ({@link HeldInput}), until its timer
     * fires. Rare (a backfill's read order), so written as they come and read only when the timer fires or the
     * trajectory finishes.
     */
    private transient ListState<HeldInput> heldPastDeadline;
    /** Trajectories with progress state: opened by their first input, closed when they finish. */
    private transient OpenWork openTrajectories;

    /*
     * The current key's inputs are applied in a session (beginKey ... endKey): its progress is read at most once and
     * written at most once, and its new steps and verdicts are appended in one call each, however many inputs the
     * session has. MiniBatchAssembler opens one session per key of a mini-batch; outside a mini-batch every input has
     * a session of its own.
     */
    private transient boolean inSession;
    /** The session has read the progress state (then {@link #sessionProgress} is current). */
    private transient boolean progressRead;
    /** The progress state held a value when the session read it. */
    private transient boolean progressStored;
    /** The session changed the progress: endKey writes it. */
    private transient boolean progressChanged;
    private transient AssemblyProgress sessionProgress;
    private transient List<byte[]> newSteps;
    private transient List<VerifierSignal> newVerdicts;

    private transient Counter stepsIn;
    private transient Counter outcomesIn;
    private transient Counter verdictsIn;
    private transient Counter duplicateSteps;
    private transient Counter assembled;
    private transient Counter verifierTimeouts;
    private transient Counter outcomeTimeoutsScored;
    private transient CountersByName deadLetters;
    private transient CountersByName unscoredByReason;
    private transient Ledger ledger;

    public AssembleTrajectory(ReadableConfig conf) {
        this.outcomeTimeoutMillis = conf.get(JobOptions.OUTCOME_TIMEOUT).toMillis();
        this.inactivityTimeoutMillis = conf.getOptional(JobOptions.INACTIVITY_TIMEOUT)
                .orElse(conf.get(JobOptions.OUTCOME_TIMEOUT)).toMillis();
        this.verifierTimeoutMillis = conf.get(JobOptions.VERIFIER_TIMEOUT).toMillis();
        this.allowedLatenessMillis = conf.get(JobOptions.ALLOWED_LATENESS).toMillis();
        this.finishedRetentionMillis = conf.get(JobOptions.FINISHED_RETENTION).toMillis();
        if (allowedLatenessMillis > finishedRetentionMillis) {
            // A straggler let in after its trajectory's marker was forgotten would open a trajectory of its own, and
            // go to the unscored topic under a misleading reason (INCOMPLETE, UNKNOWN_TRAJECTORY) instead of LATE.
            throw new IllegalArgumentException(JobOptions.ALLOWED_LATENESS.key() + " ("
                    + TimeUtils.formatWithHighestUnit(conf.get(JobOptions.ALLOWED_LATENESS)) + ") must not be longer"
                    + " than " + JobOptions.FINISHED_RETENTION.key() + " ("
                    + TimeUtils.formatWithHighestUnit(conf.get(JobOptions.FINISHED_RETENTION)) + "): a finished"
                    + " trajectory must be remembered for as long as its stragglers are let in");
        }
        this.requiredVerifiers = new HashSet<>(conf.get(JobOptions.REQUIRED_VERIFIERS));
        this.unscoredOnVerifierTimeout =
                conf.get(JobOptions.VERIFIER_TIMEOUT_POLICY) == VerifierTimeoutPolicy.UNSCORED;
        this.emitOnCompletion = conf.get(JobOptions.EMIT_ON_COMPLETION);
        this.maxVerdicts = conf.get(JobOptions.MAX_VERDICTS_PER_TRAJECTORY);
        if (maxVerdicts < 0) {
            throw new IllegalArgumentException(JobOptions.MAX_VERDICTS_PER_TRAJECTORY.key()
                    + " must be at least 0 (0: every verifier signal is dead-lettered), was " + maxVerdicts);
        }
        this.scoreTimedOutOnProcess = conf.get(JobOptions.OUTCOME_TIMEOUT_POLICY) == OutcomeTimeoutPolicy.PROCESS_ONLY
                && CreditConfig.from(conf).estimator() == Estimator.PROCESS;
    }

    @Override
    public void open(OpenContext openContext) {
        stepCodec = new StepEventCodec();
        newSteps = new ArrayList<>();
        newVerdicts = new ArrayList<>();
        try {
            steps = getRuntimeContext().getListState(new ListStateDescriptor<>("steps", byte[].class));
        } catch (RuntimeException e) {
            // Flink's own message names neither the state nor a way out.
            throw new IllegalStateException("cannot restore the assembler's state \"steps\": the savepoint comes from"
                    + " a build that kept steps in a map by index, this one keeps them in a list. Stop the old job with"
                    + " `flink stop --drain` (its open trajectories are published as timeouts) and start this one"
                    + " without the savepoint: it resumes from the offsets the old job committed"
                    + " (source.starting-offsets=committed-or-earliest, the default)", e);
        }
        verdicts = getRuntimeContext().getListState(
                new ListStateDescriptor<>("verdicts", AssemblyStateSerializers.OfVerdict.INSTANCE));
        progress = getRuntimeContext().getState(
                new ValueStateDescriptor<>(PROGRESS, new AssemblyStateSerializers.OfProgress()));
        finished = getRuntimeContext().getState(
                new ValueStateDescriptor<>("finished", new AssemblyStateSerializers.OfFinished()));
        heldPastDeadline = getRuntimeContext().getListState(
                new ListStateDescriptor<>("held-past-deadline", new AssemblyStateSerializers.OfHeldInput()));

        MetricGroup metrics = getRuntimeContext().getMetricGroup().addGroup("assembly");
        stepsIn = metrics.counter("stepsIn");
        outcomesIn = metrics.counter("outcomesIn");
        verdictsIn = metrics.counter("verdictsIn");
        duplicateSteps = metrics.counter("duplicateSteps");
        assembled = metrics.counter("trajectoriesAssembled");
        verifierTimeouts = metrics.counter("verifierTimeouts");
        outcomeTimeoutsScored = metrics.counter("outcomeTimeoutsScoredOnProcess");
        openTrajectories = metrics.gauge("openTrajectories", new OpenWork());
        deadLetters = new CountersByName(metrics.addGroup("deadLetters"));
        unscoredByReason = new CountersByName(metrics.addGroup("unscored"));
        // Any kind dead-lettered (a conflicting step or outcome, a step after the terminal one, too many verdicts) or
        // unscored (timed out with its trajectory, or late); an identical step or an outcome revision dropped.
        ledger = new Ledger(getRuntimeContext().getMetricGroup())
                .counting(Way.DEAD_LETTERED, Way.UNSCORED)
                .counting(Kind.STEPS, Way.DROPPED)
                .counting(Kind.OUTCOMES, Way.DROPPED);
    }

    @Override
    public void processElement(InputRecord input, Context ctx, Collector<AssembledTrajectory> out) throws Exception {
        if (inSession) {
            assemble(input, ctx.timestamp(), ctx, out);
            return;
        }
        beginKey();
        assemble(input, ctx.timestamp(), ctx, out);
        endKey();
    }

    /** Starts applying inputs of the current key (see {@link #inSession}). */
    void beginKey() {
        inSession = true;
        progressRead = false;
        progressStored = false;
        progressChanged = false;
        sessionProgress = null;
    }

    /** Writes what the current key's inputs changed since {@link #beginKey}. */
    void endKey() throws Exception {
        writeAppends();
        if (progressChanged) {
            progress.update(sessionProgress);
        }
        inSession = false;
        sessionProgress = null;
    }

    private AssemblyProgress readProgress() throws Exception {
        if (!progressRead) {
            sessionProgress = progress.value();
            progressStored = sessionProgress != null;
            progressRead = true;
        }
        return sessionProgress;
    }

    /** The steps and verdicts the session received, appended to their states (before anything reads those). */
    private void writeAppends() throws Exception {
        if (!newSteps.isEmpty()) {
            steps.addAll(newSteps);
            newSteps.clear();
        }
        if (!newVerdicts.isEmpty()) {
            verdicts.addAll(newVerdicts);
            newVerdicts.clear();
        }
    }

    /** {@code eventTime}: the input's own, also where it is applied later than it came ({@link #applyHeld}). */
    private void assemble(InputRecord input, long eventTime, Context ctx, Collector<AssembledTrajectory> out)
            throws Exception {
        // An open trajectory has progress and never a marker: most inputs find theirs with one state lookup.
        AssemblyProgress current = readProgress();
        boolean opening = current == null;
        if (opening) {
            FinishedTrajectory done = finished.value();
            if (done != null) {
                routeStraggler(input, done, ctx);
                return;
            }
            // Written as a sum, not watermark - lateness: before the first watermark (Long.MIN_VALUE) that
            // difference would wrap around and make every input late.
            if (eventTime + allowedLatenessMillis < ctx.timerService().currentWatermark()) {
                // Too late to open a trajectory: its peers have most likely timed out already.
                routeUnscored(ctx, UnscoredReason.LATE, "event time " + eventTime + " behind the watermark "
                        + ctx.timerService().currentWatermark() + " beyond the allowed lateness", input, null);
                return;
            }
            current = AssemblyProgress.EMPTY;
        } else if (current.phase() != Phase.READY && eventTime > current.deadline()) {
            // Read ahead of the watermark (a backfill), it would have come after the timeout live, unless inputs
            // with earlier event times, not read yet, move the deadline past it: it waits for the timer, which
            // decides (applyHeld), and is counted then.
            heldPastDeadline.add(new HeldInput(eventTime, input));
            return;
        }
        boolean kept = true;
        boolean movesTheWaits = true;
        switch (input.kind()) {
            case STEP -> {
                stepsIn.inc();
                AssemblyProgress added = addStep(input, current, ctx);
                kept = added != current; // a duplicate is dropped, a conflicting or stray step dead-lettered
                current = added;
            }
            case OUTCOME -> {
                outcomesIn.inc();
                OutcomeEvent known = current.outcome();
                if (known != null && input.outcome.getRevision() == known.getRevision()
                        && !input.outcome.equals(known)) {
                    // Two outcomes under one revision: which is right cannot be told, as for a step that came twice
                    // with different content. The first stays.
                    deadLetter(ctx, input, Rule.CONFLICTING_DUPLICATE, "outcome revision " + known.getRevision()
                            + " arrived twice with different content; the first copy is kept");
                    kept = false;
                } else {
                    // A later revision supersedes an earlier one; an older one arriving late, or a copy of the one
                    // known (a producer's retry), is kept out.
                    if (known == null || input.outcome.getRevision() > known.getRevision()) {
                        current = current.withOutcome(input.outcome);
                        // A revision replaces the outcome but is no sign of the trajectory going on: were it to move
                        // the waits, a judge that re-published one every few minutes would hold a trajectory with a
                        // lost step open for as long as it did.
                        movesTheWaits = known == null;
                    } else {
                        kept = false;
                    }
                    if (known != null) {
                        ledger.count(Kind.OUTCOMES, Way.DROPPED, 1); // one of the two is superseded, or a copy
                    }
                }
            }
            case VERDICT -> {
                verdictsIn.inc();
                if (current.verdictCount() >= maxVerdicts) {
                    // A verifier stuck in a loop would otherwise grow the trajectory's state without end, and hold
                    // it open for as long as it goes on: every input moves the waits.
                    deadLetter(ctx, input, Rule.TOO_MANY_VERDICTS, "the trajectory already has "
                            + current.verdictCount() + " verifier signals (" + JobOptions.MAX_VERDICTS_PER_TRAJECTORY.key()
                            + ")");
                    kept = false;
                } else {
                    newVerdicts.add(input.verdict);
                    current = current.withVerdict();
                }
            }
            case DEAD_LETTER -> throw new IllegalArgumentException("dead letters are routed before assembly");
        }
        if (!kept) {
            // It neither joins the lineage nor moves the waits: an agent that keeps sending steps after its
            // terminal one would otherwise hold a complete trajectory back for as long as it does.
            return;
        }
        current = current.withInput(input.topic, input.partition, input.offset);
        if (movesTheWaits) {
            current = nextWait(ctx, current.withEventTime(eventTime));
        }
        sessionProgress = current;
        progressChanged = true;
        if (opening) {
            openTrajectories.opened();
        }
        if (emitOnCompletion && current.phase() == Phase.READY) {
            // job.emit-on-completion: no wait for the watermark, so the timer that would have waited goes.
            ctx.timerService().deleteEventTimeTimer(current.timer());
            emit(ctx, current.withTimer(Long.MIN_VALUE), false, out);
        }
    }

    @Override
    public long countOpenWork(KeyedStateBackend<?> backend) {
        try (var keys = backend.getKeys(PROGRESS, VoidNamespace.INSTANCE)) {
            return keys.count();
        }
    }

    @Override
    public OpenWork openWork() {
        return openTrajectories;
    }

    /**
     * Where the trajectory stands after an input, and the one timer that bounds its wait: inactivity
     * while steps are missing, the outcome timeout while only the outcome is, the verifier timeout while only
     * required verdicts are, and the watermark reaching its newest input once it is complete.
     */
    private AssemblyProgress nextWait(Context ctx, AssemblyProgress current) throws Exception {
        // Waits count from the watermark where it is ahead of the inputs: a trajectory let in by job.allowed-lateness
        // would otherwise get a deadline already passed and time out at the next watermark, its peers still coming.
        long waitFrom = Math.max(current.latestEventTime(), ctx.timerService().currentWatermark());
        if (!current.stepsComplete()) {
            return moveDeadline(ctx, current, Phase.OPEN, EventTimes.plus(waitFrom, inactivityTimeoutMillis));
        }
        if (!current.hasOutcome()) {
            return moveDeadline(ctx, current, Phase.OPEN, EventTimes.plus(waitFrom, outcomeTimeoutMillis));
        }
        if (verdictGaps(true).complete()) {
            return moveDeadline(ctx, current, Phase.READY, current.latestEventTime());
        }
        if (current.phase() == Phase.AWAITING_VERIFIERS) {
            return current; // the verifier timeout is not pushed by further inputs
        }
        return moveDeadline(ctx, current, Phase.AWAITING_VERIFIERS, EventTimes.plus(waitFrom, verifierTimeoutMillis));
    }

    private AssemblyProgress addStep(InputRecord input, AssemblyProgress current, Context ctx) throws Exception {
        // Read in place: the step itself is decoded only for a duplicate (see InputRecord#getStep).
        int index = input.stepIndex();
        // As it came from Kafka where it can (see InputRecord#encodedStep), else encoded here.
        byte[] encoded = input.encodedStep != null ? input.encodedStep : stepCodec.encode(input.getStep());
        if (current.hasStep(index)) {
            byte[] known = arrivedStep(index);
            // Equal bytes, or equal steps: another producer's encoder may write the same step differently.
            if (Arrays.equals(known, encoded) || stepCodec.decode(known).equals(input.getStep())) {
                // Producers retry: an at-least-once agent may send a step twice. The copy adds nothing.
                duplicateSteps.inc();
                ledger.count(Kind.STEPS, Way.DROPPED, 1);
            } else {
                deadLetter(ctx, input, Rule.CONFLICTING_DUPLICATE,
                        "step " + index + " arrived twice with different content; the first copy is kept");
            }
            return current;
        }
        byte[] fields = trajectoryFields(current, encoded);
        if (!StepEventCodec.hasTrajectoryFields(encoded, fields)) {
            // The trajectory is grouped, scored and published under one agent, task and group: a step that names
            // others would be scored against peers it does not belong with. Which is right cannot be told; the first
            // steps stay.
            List<String> disagreements = disagreements(input.getStep(), stepCodec.decode(lowestArrivedStep()));
            if (!disagreements.isEmpty()) {
                deadLetter(ctx, input, Rule.CONFLICTING_TRAJECTORY_FIELDS, "step " + index + " disagrees with the"
                        + " steps of its trajectory already received: " + String.join(", ", disagreements)
                        + "; the trajectory keeps theirs");
                return current;
            }
        }
        boolean terminal = input.isTerminalStep();
        if (current.terminalIndex() >= 0 && index > current.terminalIndex()) {
            deadLetter(ctx, input, Rule.STEP_AFTER_TERMINAL,
                    "step " + index + " comes after terminal step " + current.terminalIndex());
            return current;
        }
        if (terminal && (current.terminalIndex() >= 0 || index < current.maxIndex())) {
            deadLetter(ctx, input, Rule.STEP_AFTER_TERMINAL, "terminal step " + index + " conflicts with steps up to "
                    + current.maxIndex() + " (terminal " + current.terminalIndex() + ") already received");
            return current;
        }
        newSteps.add(encoded);
        AssemblyProgress added = current.withStep(index, terminal);
        // The first step's fields, or those a step in state has, are the trajectory's from now on.
        return current.trajectoryFields() != null ? added : added.withTrajectoryFields(fields);
    }

    /**
     * The fields every step of the trajectory must repeat: as its progress keeps them, else as its step of the lowest
     * index has them (progress that a release before them kept), else as this first step has them.
     */
    private byte[] trajectoryFields(AssemblyProgress current, byte[] firstStep) throws Exception {
        if (current.trajectoryFields() != null) {
            return current.trajectoryFields();
        }
        return StepEventCodec.trajectoryFields(current.distinctSteps() > 0 ? lowestArrivedStep() : firstStep);
    }

    /**
     * The trajectory fields on which {@code step} disagrees with a step of its trajectory, each with both values;
     * none where only their encodings differ (another producer's writer).
     */
    private static List<String> disagreements(StepEvent step, StepEvent trajectoryStep) {
        List<String> disagreements = new ArrayList<>();
        disagreement("agent_id", step.getAgentId(), trajectoryStep.getAgentId(), disagreements);
        disagreement("task_id", step.getTaskId(), trajectoryStep.getTaskId(), disagreements);
        disagreement("group_id", step.getGroupId(), trajectoryStep.getGroupId(), disagreements);
        // Without a group_id a group_size means nothing (StepFields#groupSize): 0 from a proto3 producer, or none.
        disagreement("group_size", step.getGroupId() != null ? step.getGroupSize() : null,
                trajectoryStep.getGroupId() != null ? trajectoryStep.getGroupSize() : null, disagreements);
        return disagreements;
    }

    private static void disagreement(String field, Object value, Object trajectoryValue, List<String> disagreements) {
        if (!Objects.equals(value, trajectoryValue)) {
            disagreements.add(field + " " + quoted(value) + " (theirs: " + quoted(trajectoryValue) + ")");
        }
    }

    private static String quoted(Object value) {
        return value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
    }

    /**
     * The trajectory's step of the lowest index as it waits in the session or in state; the progress says some
     * arrived. Its fields are those the trajectory leaves assembly with ({@link #trajectory}), also where a release
     * before the check let steps that disagree in (progress without {@link AssemblyProgress#trajectoryFields}).
     */
    private byte[] lowestArrivedStep() throws Exception {
        byte[] lowest = null;
        int lowestIndex = Integer.MAX_VALUE;
        for (Iterable<byte[]> arrived : List.of(newSteps, steps.get())) {
            for (byte[] encoded : arrived) {
                int index = StepEventCodec.stepIndex(encoded);
                if (index < lowestIndex) {
                    lowest = encoded;
                    lowestIndex = index;
                }
            }
        }
        if (lowest == null) {
            throw new IllegalStateException("steps are marked as arrived but none is in state");
        }
        return lowest;
    }

    /** The step of {@code index} as it waits in the session or in state; the progress says it arrived. */
    private byte[] arrivedStep(int index) throws Exception {
        for (byte[] encoded : newSteps) {
            if (StepEventCodec.stepIndex(encoded) == index) {
                return encoded;
            }
        }
        for (byte[] encoded : steps.get()) {
            if (StepEventCodec.stepIndex(encoded) == index) {
                return encoded;
            }
        }
        throw new IllegalStateException("step " + index + " is marked as arrived but is not in state");
    }

    /**
     * Which required verifiers have not judged which trainable steps: none, or in words for the unscored record of a
     * trajectory that timed out waiting for them (an operator can tell a verifier that is down, missing on every
     * step, from one that lags).
     *
     * @param untilTheFirst stop at the first gap, where only {@link VerdictGaps#complete()} is asked (every input of a
     *                      trajectory waiting for its verdicts asks it), rather than count them all
     */
    private VerdictGaps verdictGaps(boolean untilTheFirst) throws Exception {
        if (requiredVerifiers.isEmpty()) {
            return VerdictGaps.NONE;
        }
        writeAppends();
        Set<String> judged = new HashSet<>(); // "step index/verifier id" of every verdict, the session's included
        for (VerifierSignal v : verdicts.get()) {
            if (v.getStepIndex() != null) {
                judged.add(v.getStepIndex() + "/" + v.getVerifierId());
            }
        }
        SortedMap<String, Integer> stepsLackingByVerifier = new TreeMap<>();
        int trainable = 0;
        int lacking = 0;
        for (byte[] encoded : steps.get()) {
            StepEvent step = stepCodec.decode(encoded);
            if (!step.getTrainable()) {
                continue;
            }
            trainable++;
            boolean lacks = false;
            for (String verifier : requiredVerifiers) {
                if (!judged.contains(step.getStepIndex() + "/" + verifier)) {
                    stepsLackingByVerifier.merge(verifier, 1, Integer::sum);
                    lacks = true;
                }
            }
            if (lacks) {
                lacking++;
                if (untilTheFirst) {
                    break;
                }
            }
        }
        return new VerdictGaps(trainable, lacking, stepsLackingByVerifier);
    }

    /** How many of a trajectory's trainable steps lack a verdict of a required verifier, and which verifiers'. */
    private record VerdictGaps(int trainable, int lacking, SortedMap<String, Integer> stepsLackingByVerifier) {

        static final VerdictGaps NONE = new VerdictGaps(0, 0, new TreeMap<>());

        boolean complete() {
            return lacking == 0;
        }

        @Override
        public String toString() {
            List<String> byVerifier = new ArrayList<>();
            stepsLackingByVerifier.forEach((verifier, count) -> byVerifier.add(verifier + " on " + count));
            return lacking + " of " + trainable + " trainable steps lack required verdicts (missing "
                    + String.join(", ", byVerifier) + ")";
        }
    }

    /**
     * Stragglers of a trajectory already emitted or timed out. A LATE_REVISION carries both outcomes,
     * the one emitted first, so a trainer can decide to correct. "Emitted", not "scored": a later stage may still
     * have sent the trajectory to the unscored topic (STALE, LATE, INCOMPLETE, SUSPECT, UNSCORABLE, OVERSIZED), which
     * this stage does not hear of.
     */
    private void routeStraggler(InputRecord input, FinishedTrajectory done, Context ctx) throws Exception {
        OutcomeEvent scored = done.scoredOutcome();
        if (input.kind() == InputRecord.Kind.OUTCOME && scored != null
                && input.outcome.getRevision() > scored.getRevision()) {
            routeUnscored(ctx, UnscoredReason.LATE_REVISION, "emitted for scoring with outcome revision "
                    + scored.getRevision() + " (reward " + scored.getReward() + "); revision "
                    + input.outcome.getRevision() + " (reward " + input.outcome.getReward() + ") arrived after that"
                    + " (its batch has it, unless a later stage sent it to the unscored topic)", input, scored);
            return;
        }
        routeUnscored(ctx, UnscoredReason.LATE, (scored != null ? "trajectory already emitted for scoring"
                : "trajectory already timed out")
                + "; this " + input.kind().name().toLowerCase(Locale.ROOT) + " came after", input, null);
    }

    /**
     * The key has one timer, never later than the deadline: a deadline that moves later keeps it (it fires
     * early and {@link #onTimer} moves it), one that moves earlier replaces it.
     */
    private static AssemblyProgress moveDeadline(Context ctx, AssemblyProgress current, Phase phase, long deadline) {
        if (phase == current.phase() && deadline == current.deadline()) {
            return current;
        }
        AssemblyProgress moved = current.withDeadline(phase, deadline);
        if (current.timer() != Long.MIN_VALUE) {
            if (current.timer() <= deadline) {
                return moved;
            }
            ctx.timerService().deleteEventTimeTimer(current.timer());
        }
        ctx.timerService().registerEventTimeTimer(deadline);
        return moved.withTimer(deadline);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<AssembledTrajectory> out) throws Exception {
        AssemblyProgress current = progress.value();
        if (current == null) {
            FinishedTrajectory done = finished.value();
            if (done != null && done.forgetAt() == timestamp) {
                finished.clear();
            }
            return;
        }
        if (current.timer() != timestamp) {
            return;
        }
        List<HeldInput> held = listOf(heldPastDeadline.get());
        if (!held.isEmpty()) {
            current = applyHeld(held, current, ctx, out);
            if (current == null) {
                return; // completed by a held input and emitted (job.emit-on-completion)
            }
        }
        if (current.deadline() > timestamp) {
            // Inputs pushed the deadline after this timer was set: the wait goes on until then.
            ctx.timerService().registerEventTimeTimer(current.deadline());
            progress.update(current.withTimer(current.deadline()));
            return;
        }
        if (current.phase() == Phase.READY) {
            emit(ctx, current, false, out);
            return;
        }
        if (current.phase() == Phase.AWAITING_VERIFIERS) {
            verifierTimeouts.inc();
            if (unscoredOnVerifierTimeout) {
                routeTimedOut(ctx, current, UnscoredReason.INCOMPLETE, verdictGaps(false) + " after "
                        + verifierTimeoutMillis + " ms (job.verifier-timeout)", timestamp);
            } else {
                emit(ctx, current, true, out); // scored with the verdicts that came, and marked so
            }
            return;
        }
        UnscoredReason reason;
        String detail;
        if (current.distinctSteps() == 0) {
            reason = UnscoredReason.UNKNOWN_TRAJECTORY;
            detail = "outcome or verdicts arrived but no step within " + inactivityTimeoutMillis + " ms";
        } else if (current.stepsComplete()) {
            if (scoreTimedOutOnProcess && current.verdictCount() > 0 && judgesATrainableStep(current)) {
                // Scored on its verdicts alone, so the quorum they must meet holds here as after an outcome.
                VerdictGaps gaps = verdictGaps(false);
                boolean quorum = gaps.complete();
                if (!quorum) {
                    verifierTimeouts.inc();
                }
                if (!quorum && unscoredOnVerifierTimeout) {
                    routeTimedOut(ctx, current, UnscoredReason.INCOMPLETE, "no outcome within " + outcomeTimeoutMillis
                            + " ms (job.outcome-timeout), and " + gaps, timestamp);
                } else {
                    emitWithoutOutcome(ctx, current, !quorum, timestamp, out);
                }
                return;
            }
            reason = UnscoredReason.OUTCOME_TIMEOUT;
            detail = "steps complete, no outcome within " + outcomeTimeoutMillis + " ms";
        } else {
            reason = UnscoredReason.INCOMPLETE;
            detail = current.terminalIndex() < 0
                    ? "no terminal step within " + inactivityTimeoutMillis + " ms (" + current.distinctSteps() + " steps)"
                    : "steps missing before terminal step " + current.terminalIndex() + " ("
                            + current.distinctSteps() + " present)";
        }
        routeTimedOut(ctx, current, reason, detail, timestamp);
    }

    /**
     * The inputs held past the deadline, once the watermark has passed the key's timer: in event-time order, as they
     * would have come live, each joins while its event time is within the deadline, which it may move further; the
     * rest stay held. Those that come after the trajectory ended (job.emit-on-completion) are its stragglers.
     *
     * @return the trajectory's progress after them; null when it ended
     */
    private AssemblyProgress applyHeld(List<HeldInput> held, AssemblyProgress current, Context ctx,
            Collector<AssembledTrajectory> out) throws Exception {
        // Cleared first: a held input that ends the trajectory must not find the others still held (finish).
        heldPastDeadline.clear();
        held.sort(Comparator.comparingLong(HeldInput::eventTime));
        beginKey();
        sessionProgress = current; // as read by onTimer
        progressRead = true;
        progressStored = true;
        int next = 0;
        while (next < held.size() && (sessionProgress == null || held.get(next).eventTime() <= sessionProgress
                .deadline())) {
            assemble(held.get(next).input(), held.get(next).eventTime(), ctx, out);
            next++;
        }
        AssemblyProgress after = sessionProgress;
        endKey();
        if (next < held.size()) {
            heldPastDeadline.update(held.subList(next, held.size()));
        }
        return after;
    }

    /**
     * A trajectory whose wait ran out goes to the unscored output with everything that arrived for it. Its marker
     * remembers no outcome scored, so that its stragglers are routed LATE.
     */
    private void routeTimedOut(Context ctx, AssemblyProgress current, UnscoredReason reason, String detail,
            long timestamp) throws Exception {
        unscoredByReason.inc(reason.name());
        List<StepEvent> arrived = orderedSteps();
        List<VerifierSignal> verdictsArrived = verdictsArrived(current);
        OutcomeEvent outcomeArrived = current.outcome();
        ledger.count(Kind.STEPS, Way.UNSCORED, arrived.size());
        ledger.count(Kind.OUTCOMES, Way.UNSCORED, outcomeArrived == null ? 0 : 1);
        ledger.count(Kind.VERDICTS, Way.UNSCORED, verdictsArrived.size());
        ctx.output(UNSCORED, UnscoredTrajectory.newBuilder()
                .setTrajectoryId(ctx.getCurrentKey())
                .setReason(reason)
                .setDetail(detail)
                .setRoutedAt(Instant.ofEpochMilli(ctx.timerService().currentProcessingTime()))
                .setSteps(arrived)
                .setOutcomes(outcomeArrived == null ? List.of() : List.of(outcomeArrived))
                .setVerdicts(verdictsArrived)
                .build());
        finish(ctx, current, null, timestamp);
    }

    /** {@code verifiersTimedOut}: its required verifiers had not all come by job.verifier-timeout. */
    private void emit(Context ctx, AssemblyProgress current, boolean verifiersTimedOut,
            Collector<AssembledTrajectory> out) throws Exception {
        writeAppends();
        out.collect(trajectory(current, orderedEncodedSteps(), current.outcome(), false, verifiersTimedOut));
        assembled.inc();
        finish(ctx, current, current.encodedOutcome(), ctx.timestamp());
    }

    /**
     * job.outcome-timeout-policy=PROCESS_ONLY: the trajectory goes on to be scored on its verifier signals alone,
     * with a placeholder outcome (reward 0) that stands for none. Its marker remembers no outcome, so a late
     * outcome is routed LATE.
     */
    private void emitWithoutOutcome(Context ctx, AssemblyProgress current, boolean verifiersTimedOut, long timestamp,
            Collector<AssembledTrajectory> out) throws Exception {
        EncodedSteps ordered = orderedEncodedSteps();
        OutcomeEvent none = OutcomeEvent.newBuilder()
                .setTrajectoryId(ctx.getCurrentKey())
                .setReward(0.0)
                .setSuccess(false)
                .setSource("none: outcome timed out")
                .setEventTime(Instant.ofEpochMilli(timestamp))
                .build();
        out.collect(trajectory(current, ordered, none, true, verifiersTimedOut));
        outcomeTimeoutsScored.inc();
        finish(ctx, current, null, timestamp);
    }

    /**
     * The trajectory as it leaves assembly: the ids from its first step (its steps agree on them, see
     * {@link #addStep}), everything that arrived for it. Its steps stay encoded as they waited in state: they cross
     * the network as these bytes, and only the first is decoded.
     */
    private AssembledTrajectory trajectory(
            AssemblyProgress current, EncodedSteps ordered, OutcomeEvent scoredWith, boolean outcomeTimedOut,
            boolean verifiersTimedOut) throws Exception {
        StepEvent first = stepCodec.decode(ordered.encoded(0));
        return new AssembledTrajectory(
                first.getTrajectoryId(),
                first.getAgentId(),
                first.getTaskId(),
                first.getGroupId(),
                first.getGroupSize() == null ? 0 : first.getGroupSize(),
                ordered,
                scoredWith,
                verdictsArrived(current),
                current.lineage().ranges(),
                outcomeTimedOut,
                verifiersTimedOut);
    }

    /** The verifier signals that arrived, in arrival order; their state is read only when there are some. */
    private List<VerifierSignal> verdictsArrived(AssemblyProgress current) throws Exception {
        return current.verdictCount() == 0 ? new ArrayList<>() : listOf(verdicts.get());
    }

    /**
     * Drops the open trajectory's state and keeps only the marker, whose timer clears it later. A state never
     * written is not cleared: on RocksDB a delete is a write too.
     */
    private void finish(Context ctx, AssemblyProgress current, byte[] scoredOutcome, long at) throws Exception {
        long from = Math.max(at, ctx.timerService().currentWatermark());
        // Saturating: when a drain has pushed the watermark to the end of time, the marker is due at once.
        long forgetAt = EventTimes.plus(from, finishedRetentionMillis);
        if (current.timer() != Long.MIN_VALUE && current.timer() != at) {
            ctx.timerService().deleteEventTimeTimer(current.timer());
        }
        ctx.timerService().registerEventTimeTimer(forgetAt);
        FinishedTrajectory done = new FinishedTrajectory(scoredOutcome, forgetAt);
        finished.update(done);
        // Still held, their event times past the deadline it ended at: they came after it, as they would have live.
        List<HeldInput> stragglers = listOf(heldPastDeadline.get());
        if (!stragglers.isEmpty()) {
            heldPastDeadline.clear();
            for (HeldInput straggler : stragglers) {
                routeStraggler(straggler.input(), done, ctx);
            }
        }
        if (current.distinctSteps() > 0) {
            steps.clear();
        }
        if (current.verdictCount() > 0) {
            verdicts.clear();
        }
        if (!inSession || progressStored) {
            progress.clear();
        }
        if (inSession) { // emitted on completion: the key's further inputs in the session find the marker
            sessionProgress = null;
            progressStored = false;
            progressChanged = false;
        }
        openTrajectories.closed();
    }

    private void routeUnscored(Context ctx, UnscoredReason reason, String detail, InputRecord input, OutcomeEvent scored) {
        unscoredByReason.inc(reason.name());
        ledger.count(Kind.of(input), Way.UNSCORED, 1); // only the straggler is new: a scored outcome was counted

        List<OutcomeEvent> outcomes = new ArrayList<>();
        if (scored != null) {
            outcomes.add(scored);
        }
        if (input.outcome != null) {
            outcomes.add(input.outcome);
        }
        ctx.output(UNSCORED, UnscoredTrajectory.newBuilder()
                .setTrajectoryId(input.trajectoryId())
                .setReason(reason)
                .setDetail(detail)
                .setRoutedAt(Instant.ofEpochMilli(ctx.timerService().currentProcessingTime()))
                .setSteps(input.kind() == InputRecord.Kind.STEP ? List.of(input.getStep()) : List.of())
                .setOutcomes(outcomes)
                .setVerdicts(input.verdict == null ? List.of() : List.of(input.verdict))
                .build());
    }

    private void deadLetter(Context ctx, InputRecord input, Rule rule, String message) {
        deadLetters.inc(rule.name());
        ledger.count(Kind.of(input), Way.DEAD_LETTERED, 1);
        ctx.output(DeadLetters.TAG, DeadLetters.of(input, rule.name(), message, ctx.timerService().currentProcessingTime()));
    }

    /** The steps that arrived, decoded, by index. */
    /**
     * Whether a verdict that arrived judges one of the trajectory's trainable steps: only those become process
     * rewards (a verdict of the whole trajectory, or of a tool's output, gives none), so only then can it be scored
     * on its verifier signals alone.
     */
    private boolean judgesATrainableStep(AssemblyProgress current) throws Exception {
        Set<Integer> judged = new HashSet<>();
        for (VerifierSignal verdict : verdictsArrived(current)) {
            if (verdict.getStepIndex() != null) {
                judged.add(verdict.getStepIndex());
            }
        }
        for (StepEvent step : judged.isEmpty() ? List.<StepEvent>of() : orderedSteps()) {
            if (step.getTrainable() && judged.contains(step.getStepIndex())) {
                return true;
            }
        }
        return false;
    }

    private List<StepEvent> orderedSteps() throws Exception {
        return new ArrayList<>(orderedEncodedSteps());
    }

    /** The steps that arrived, by index, as they wait in state. */
    private EncodedSteps orderedEncodedSteps() throws Exception {
        List<ArrivedStep> arrived = new ArrayList<>();
        for (byte[] encoded : steps.get()) {
            arrived.add(new ArrivedStep(StepEventCodec.stepIndex(encoded), encoded));
        }
        arrived.sort(Comparator.comparingInt(ArrivedStep::index)); // mostly in order already
        List<byte[]> ordered = new ArrayList<>(arrived.size());
        for (ArrivedStep step : arrived) {
            ordered.add(step.encoded());
        }
        return new EncodedSteps(ordered);
    }

    private record ArrivedStep(int index, byte[] encoded) {}

    private static <T> List<T> listOf(Iterable<T> items) {
        List<T> list = new ArrayList<>();
        if (items != null) {
            items.forEach(list::add);
        }
        return list;
    }
}
