package io.strawless.ops.bench;

import java.util.List;

/**
 * One contender's pass over the preloaded records. Its rate and CPU time per step are those of the middle of the
 * run ({@link SustainedRate}), measured on the records of the steps topic: the three input topics are not read in
 * proportion (a consumer fetches per partition, and the outcomes' and verdicts' smaller partitions drain early),
 * so the input's overall share of steps would say little about the steps among the records of the middle.
 *
 * @param contender    "passthrough" or "job"
 * @param steps        steps on the steps topic
 * @param stepRecords  records on the steps topic: the steps and their malformed siblings (the job dead-letters
 *                     those), drawn at random through the topic, so that a share of them has the topic's ratio
 * @param records      records on all three input topics
 * @param seconds      the whole run: from the first record read until its output was committed
 * @param middle       the middle of the run, which the rate and the CPU figures come from
 * @param batchedSteps steps the job had put into batches by the end of the run (its ledger); the passthrough
 *                     copies every record, so for it this is {@code steps}
 * @param profiled     whether Java Flight Recorder recorded the run (--profile), which slows it
 */
record Throughput(
        String contender,
        int parallelism,
        long steps,
        long stepRecords,
        long records,
        double seconds,
        SustainedRate.Measured middle,
        long batchedSteps,
        boolean profiled) {

    /** Steps among the records of the steps topic read in the middle of the run. */
    private double middleSteps() {
        return middle.stepRecords() * (double) steps / stepRecords;
    }

    double stepsPerSecond() {
        return middleSteps() / middle.seconds();
    }

    double stepsPerCpuSecond() {
        return middleSteps() / middle.cpuSeconds();
    }

    /**
     * {@link #stepsPerCpuSecond} less the JIT compiler's CPU time: a bench runs each contender for seconds, between
     * runs of the other, so the JIT is still compiling (Flink's, Kafka's and Avro's code is large), where a job that
     * has run for a while has settled. For reading the whole-process figure, not instead of it.
     */
    double stepsPerCpuSecondLessJit() {
        return middleSteps() / (middle.cpuSeconds() - middle.jitCpuSeconds());
    }

    double cpuMicrosPerStep() {
        return middle.cpuSeconds() * 1e6 / middleSteps();
    }

    List<CpuWindow.ThreadCpu> threads() {
        return middle.threads();
    }

    /** One line per thread group, for the progress output. */
    String describeThreads() {
        return CpuWindow.describe(middle.threads(), middle.cpuSeconds());
    }
}
