package io.strawless.pipeline.assembly;

/**
 * What the assembler knows about one open trajectory without scanning its steps.
 *
 * @param distinctSteps number of distinct step indices received
 * @param maxIndex largest step index received, -1 before any
 * @param terminalIndex index of the terminal step, -1 until it arrives
 * @param deadline event time of the key's one registered timer, {@link Long#MIN_VALUE} when none
 * @param awaitingVerifiers steps and outcome are complete and only required verdicts are missing: the
 *     deadline is then the verifier timeout and is no longer pushed by new inputs
 */
public record AssemblyProgress(int distinctSteps, int maxIndex, int terminalIndex, long deadline, boolean awaitingVerifiers) {

    public static final AssemblyProgress EMPTY = new AssemblyProgress(0, -1, -1, Long.MIN_VALUE, false);

    boolean stepsComplete() {
        return terminalIndex >= 0 && distinctSteps == terminalIndex + 1;
    }

    AssemblyProgress withStep(int index, boolean terminal) {
        return new AssemblyProgress(distinctSteps + 1, Math.max(maxIndex, index), terminal ? index : terminalIndex,
                deadline, awaitingVerifiers);
    }

    AssemblyProgress withDeadline(long newDeadline, boolean verifiersOnly) {
        return new AssemblyProgress(distinctSteps, maxIndex, terminalIndex, newDeadline, verifiersOnly);
    }
}
