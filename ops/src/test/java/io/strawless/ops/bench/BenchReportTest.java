package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The report's warnings say what a figure holds, and no more than the bench knows. */
class BenchReportTest {

    /**
     * The bench stops the job without draining it, so steps not yet batched may still be open in its state (waiting
     * for an outcome or their group): the warning must not say they all went to the dead-letter or unscored topics.
     */
    @Test
    void aJobThatBatchedFewStepsIsNotSaidToHaveRoutedTheRestAway() {
        SustainedRate.Measured middle = new SustainedRate.Measured(8_000, 5.0, 4.0, List.of(), 0.5);
        Throughput passthrough = new Throughput("passthrough", 1, 10_000, 10_000, 12_000, 8.0, middle, 10_000, false);
        Throughput job = new Throughput("job", 1, 10_000, 10_000, 12_000, 10.0, middle, 6_000, false);

        assertEquals(List.of("the job at p1 put 60% of the steps into batches; the rest went to the dead-letter or"
                        + " unscored topics or were still open in its state when the run ended (the bench does not"
                        + " drain the job), and its rate counts every step it read"),
                BenchReport.warnings(List.of(passthrough), List.of(job), 1_000));
    }

    /**
     * --profile records the last round's job runs; with one round that is the only measured run, so the headline is a
     * recorded run's, slowed by the recorder, and the report must say so. A recorded run that is not the headline's
     * (the job at another parallelism, slower) does not touch the headline figures.
     */
    @Test
    void headlineFiguresFromARecordedRunAreFlagged() {
        SustainedRate.Measured middle = new SustainedRate.Measured(8_000, 5.0, 4.0, List.of(), 0.5);
        SustainedRate.Measured slowerMiddle = new SustainedRate.Measured(8_000, 8.0, 4.0, List.of(), 0.5);
        Throughput passthrough = new Throughput("passthrough", 1, 10_000, 10_000, 12_000, 8.0, middle, 10_000, false);
        Throughput recordedHeadline = new Throughput("job", 2, 10_000, 10_000, 12_000, 8.0, middle, 10_000, true);
        Throughput recordedSlower = new Throughput("job", 1, 10_000, 10_000, 12_000, 10.0, slowerMiddle, 10_000, true);
        Throughput unrecorded = new Throughput("job", 2, 10_000, 10_000, 12_000, 8.0, middle, 10_000, false);

        List<String> recorded = BenchReport.warnings(
                List.of(passthrough, passthrough), List.of(recordedSlower, recordedHeadline), 1_000);
        assertEquals(1, recorded.size(), recorded.toString());
        assertTrue(recorded.get(0).startsWith("the headline figures come from the job's run at p2 that Java Flight"
                + " Recorder recorded (--profile)"), recorded.get(0));

        assertEquals(List.of(), BenchReport.warnings(
                List.of(passthrough, passthrough), List.of(recordedSlower, unrecorded), 1_000));
    }
}
