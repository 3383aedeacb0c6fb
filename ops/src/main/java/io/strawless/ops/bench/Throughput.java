package io.strawless.ops.bench;

import java.util.List;

/**
 * One contender's pass over the preloaded records.
 *
 * @param contender    "passthrough" or "job"
 * @param steps        records on the steps topic
 * @param records      records on all three input topics
 * @param seconds      from the first record read until every input offset was committed
 * @param cpuSeconds   process CPU time over the same window
 * @param batchedSteps steps the job had put into batches by then (its ledger); the passthrough copies every
 *                     record, so for it this is {@code steps}
 * @param threads      where the CPU time went, by thread name
 */
record Throughput(
        String contender,
        int parallelism,
        long steps,
        long records,
        double seconds,
        double cpuSeconds,
        long batchedSteps,
        List<CpuWindow.ThreadCpu> threads) {

    double stepsPerSecond() {
        return steps / seconds;
    }

    double stepsPerCpuSecond() {
        return steps / cpuSeconds;
    }

    double cpuMicrosPerStep() {
        return cpuSeconds * 1e6 / steps;
    }

    /** One line per thread group, for the progress output. */
    String describeThreads() {
        StringBuilder text = new StringBuilder();
        for (CpuWindow.ThreadCpu t : threads) {
            text.append("%n    %5.1f%% %s".formatted(100 * t.cpuSeconds() / cpuSeconds, t.threads()));
        }
        return text.toString();
    }
}
