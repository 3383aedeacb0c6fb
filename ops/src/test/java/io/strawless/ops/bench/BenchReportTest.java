package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        Throughput passthrough = new Throughput("passthrough", 1, 10_000, 12_000, 8.0, middle, 10_000);
        Throughput job = new Throughput("job", 1, 10_000, 12_000, 10.0, middle, 6_000);

        assertEquals(List.of("the job at p1 put 60% of the steps into batches; the rest went to the dead-letter or"
                        + " unscored topics or were still open in its state when the run ended (the bench does not"
                        + " drain the job), and its rate counts every step it read"),
                BenchReport.warnings(List.of(passthrough), List.of(job), 1_000));
    }
}
