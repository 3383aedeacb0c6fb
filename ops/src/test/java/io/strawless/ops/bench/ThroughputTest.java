package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Steps per second and per CPU-second come from the steps read in the middle of a run, however the topics drain. */
class ThroughputTest {

    private final Progress progress = new Progress(new PrintWriter(new StringWriter()));

    /**
     * The small outcome and verdict partitions drain first, so the middle of a run reads steps only. The rate must
     * count every step of the middle: not those steps scaled down by the whole input's share of steps, which put
     * the rate at steps/records of what it was.
     */
    @Test
    void aMiddleOfStepsOnlyCountsEveryStepInIt() throws Exception {
        long stepRecords = 1_000;
        long otherRecords = 400; // outcomes and verdicts, all read before the first step
        long records = stepRecords + otherRecords;
        AtomicLong read = new AtomicLong();
        // 10 records a poll, the steps topic's after all the others.
        SustainedRate.Measured middle = SustainedRate.measure(
                () -> Math.max(0, read.addAndGet(10) - otherRecords), stepRecords, () -> {}, progress, "test");
        assertTrue(middle.stepRecords() >= 790 && middle.stepRecords() <= 820, middle.toString());

        Throughput run = new Throughput("job", 1, stepRecords, stepRecords, records, 9.0, middle, stepRecords, false);
        assertEquals(middle.stepRecords() / middle.seconds(), run.stepsPerSecond(), 1e-9 * run.stepsPerSecond());
        assertEquals(middle.stepRecords() / middle.cpuSeconds(), run.stepsPerCpuSecond(), 1e-9 * run.stepsPerSecond());
        assertEquals(middle.cpuSeconds() * 1e6 / middle.stepRecords(), run.cpuMicrosPerStep(), 1e-9);
    }

    /** The malformed siblings on the steps topic are records, not steps: the middle holds them in the topic's share. */
    @Test
    void malformedRecordsOnTheStepsTopicAreNotCountedAsSteps() {
        SustainedRate.Measured middle = new SustainedRate.Measured(800, 2.0, 1.0, List.of(), 0.1);
        long steps = 990;
        long stepRecords = 1_000;
        Throughput run = new Throughput("passthrough", 1, steps, stepRecords, 1_400, 3.0, middle, steps, false);
        assertEquals(800.0 * steps / stepRecords / 2.0, run.stepsPerSecond(), 1e-9);
    }
}
