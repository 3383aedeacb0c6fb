package io.strawless.pipeline.assembly;

import io.strawless.schemas.OutcomeEvent;
import java.util.Arrays;

/**
 * What the assembler knows about one open trajectory without scanning its steps, and its outcome: read and
 * written once per input, it is the one state value most inputs touch.
 *
 * <p>The outcome lives here rather than in a state of its own: it usually arrives last, so it adds little to the
 * value's later reads and writes, and on RocksDB it saves the outcome's own lookups (every input after it asked
 * whether it had come), its write and its delete, each a call into RocksDB.
 *
 * @param distinctSteps number of distinct step indices received
 * @param receivedSteps which step indices were received, a bit per index (bit {@code i % 64} of word {@code i / 64}):
 *     a step that is not a duplicate is known to be one without a state lookup. At most {@code job.max-step-index}
 *     bits; never modified, a step received makes a copy.
 * @param maxIndex largest step index received, -1 before any
 * @param terminalIndex index of the terminal step, -1 until it arrives
 * @param trajectoryFields the fields every step of the trajectory must repeat (agent_id, task_id, group_id,
 *     group_size), as its first step had them ({@link io.strawless.connectors.serde.StepEventCodec#trajectoryFields});
 *     null before a step, and in progress that a release before them kept (then a step in state has them)
 * @param encodedOutcome the newest outcome revision received ({@link FinishedTrajectory#encode}); null before one
 * @param verdictCount verifier signals received (they wait in a list state of their own, touched only when there are some)
 * @param latestEventTime newest event time among the trajectory's inputs, outcome revisions aside: a revision moves
 *     no wait
 * @param phase what the trajectory is waiting for
 * @param deadline event time at which that wait ends, {@link Long#MIN_VALUE} before the first input
 * @param timer the key's one registered event-time timer, at or before the deadline; {@link Long#MIN_VALUE}
 *     when none. A deadline that moves later (every input pushes the inactivity timeout) leaves the timer
 *     where it is, and a timer that fires before the deadline is moved to it then: a trajectory touches the
 *     timer queue about once per wait instead of twice per input.
 * @param lineage the offsets its inputs came from
 */
public record AssemblyProgress(
        int distinctSteps,
        long[] receivedSteps,
        int maxIndex,
        int terminalIndex,
        byte[] trajectoryFields,
        byte[] encodedOutcome,
        int verdictCount,
        long latestEventTime,
        Phase phase,
        long deadline,
        long timer,
        InputLineage lineage) {

    /** The states of an open trajectory, each with its own meaning of the deadline. */
    public enum Phase {
        /** Steps or outcome missing; the deadline is the inactivity timeout. */
        OPEN,
        /** Steps and outcome complete, required verdicts missing; the deadline is the verifier timeout. */
        AWAITING_VERIFIERS,
        /**
         * Complete; the deadline is the newest input's event time, so the trajectory is emitted once the
         * watermark says every input up to then has arrived: verdicts read late from a slower topic are
         * still attached.
         */
        READY
    }

    public static final AssemblyProgress EMPTY = new AssemblyProgress(0, new long[0], -1, -1, null, null, 0,
            Long.MIN_VALUE, Phase.OPEN, Long.MIN_VALUE, Long.MIN_VALUE, InputLineage.NONE);

    boolean stepsComplete() {
        return terminalIndex >= 0 && distinctSteps == terminalIndex + 1;
    }

    boolean hasStep(int index) {
        int word = index >>> 6;
        return word < receivedSteps.length && (receivedSteps[word] & (1L << index)) != 0;
    }

    boolean hasOutcome() {
        return encodedOutcome != null;
    }

    /** The newest outcome revision received, decoded; null before one. */
    OutcomeEvent outcome() {
        return encodedOutcome == null ? null : FinishedTrajectory.decode(encodedOutcome);
    }

    AssemblyProgress withStep(int index, boolean terminal) {
        long[] received = Arrays.copyOf(receivedSteps, Math.max(receivedSteps.length, (index >>> 6) + 1));
        received[index >>> 6] |= 1L << index;
        return new AssemblyProgress(distinctSteps + 1, received, Math.max(maxIndex, index),
                terminal ? index : terminalIndex, trajectoryFields, encodedOutcome, verdictCount, latestEventTime, phase,
                deadline, timer, lineage);
    }

    AssemblyProgress withTrajectoryFields(byte[] fields) {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, fields, encodedOutcome,
                verdictCount, latestEventTime, phase, deadline, timer, lineage);
    }

    AssemblyProgress withOutcome(OutcomeEvent outcome) {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                FinishedTrajectory.encode(outcome), verdictCount, latestEventTime, phase, deadline, timer, lineage);
    }

    AssemblyProgress withVerdict() {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                encodedOutcome, verdictCount + 1, latestEventTime, phase, deadline, timer, lineage);
    }

    AssemblyProgress withEventTime(long eventTime) {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                encodedOutcome, verdictCount, Math.max(latestEventTime, eventTime), phase, deadline, timer, lineage);
    }

    AssemblyProgress withDeadline(Phase newPhase, long newDeadline) {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                encodedOutcome, verdictCount, latestEventTime, newPhase, newDeadline, timer, lineage);
    }

    AssemblyProgress withTimer(long newTimer) {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                encodedOutcome, verdictCount, latestEventTime, phase, deadline, newTimer, lineage);
    }

    AssemblyProgress withInput(String topic, int partition, long offset) {
        return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                encodedOutcome, verdictCount, latestEventTime, phase, deadline, timer,
                lineage.with(topic, partition, offset));
    }
}
