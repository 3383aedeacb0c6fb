package io.strawless.pipeline.assembly;

/**
 * What the assembler knows about one open trajectory without scanning its steps.
 *
 * @param distinctSteps number of distinct step indices received
 * @param terminalIndex index of the terminal step, -1 until it arrives
 * @param deadline event time at which the open trajectory times out (its registered timer)
 */
record AssemblyProgress(int distinctSteps, int terminalIndex, long deadline) {

    static final AssemblyProgress EMPTY = new AssemblyProgress(0, -1, Long.MIN_VALUE);

    boolean stepsComplete() {
        return terminalIndex >= 0 && distinctSteps == terminalIndex + 1;
    }
}
