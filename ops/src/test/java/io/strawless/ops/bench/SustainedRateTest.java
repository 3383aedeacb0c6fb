package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The middle of a run, and a run too small to have one. */
class SustainedRateTest {

    private final Progress progress = new Progress(new PrintWriter(new StringWriter()));

    @Test
    void measuresBetweenATenthAndNineTenthsOfTheInput() throws Exception {
        AtomicLong read = new AtomicLong();
        SustainedRate.Measured middle =
                SustainedRate.measure(() -> read.addAndGet(10), 1_000, () -> {}, progress, "test"); // 10 records a poll
        assertTrue(middle.stepRecords() >= 790 && middle.stepRecords() <= 820, "records in the middle: " + middle);
        assertTrue(middle.seconds() > 0, middle.toString());
    }

    @Test
    void aRunReadAtOnceIsMeasuredWhole() throws Exception {
        // Everything arrives between two polls (a smoke test's input): there is no middle, and the rate must not
        // come out as zero records in no time.
        AtomicLong polls = new AtomicLong();
        SustainedRate.Measured run =
                SustainedRate.measure(() -> polls.incrementAndGet() < 3 ? 1 : 1_000, 1_000, () -> {}, progress, "test");
        assertEquals(1_000, run.stepRecords());
        assertTrue(run.seconds() >= 0.1, "held open long enough for the CPU clock's ticks: " + run);
    }

    @Test
    void aMiddleTooShortToMeasureGivesWayToTheWholeRun() throws Exception {
        // A tenth arrives, then the rest within a poll or two: a middle of a few milliseconds, where a 10 ms CPU
        // tick would read as no CPU at all (a CI run once reported infinite steps per CPU-second).
        AtomicLong polls = new AtomicLong();
        SustainedRate.Measured run = SustainedRate.measure(
                () -> {
                    long poll = polls.incrementAndGet();
                    return poll < 3 ? 1 : poll < 5 ? 100 : 1_000;
                },
                1_000,
                () -> {},
                progress,
                "test");
        assertEquals(1_000, run.stepRecords(), "the whole run, not its 900 middle records: " + run);
        assertTrue(run.seconds() >= 0.1, run.toString());
    }
}
