package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.pipeline.Ledger;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Whether a demo run passed: its exit code and the JSON's {@code passed}. A correct job's run passes; one whose
 * books are empty or disagree with the broker, whose output does not balance, or whose drill finds a difference
 * fails, and the printed summary says why.
 */
class DemoSummaryTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final CreditOutput correct = CorrectOutput.output();

    @Test
    void aCorrectRunPasses() throws Exception {
        DemoSummary summary = summary(correct, CorrectOutput.books());
        assertTrue(summary.passed(), print(summary));
        assertEquals(List.of(), summary.metricBookProblems());
        assertTrue(JSON.readTree(summary.toJson()).get("passed").asBoolean(), summary.toJson());
        assertFalse(print(summary).contains("FAIL"), print(summary));
    }

    /** A reporter left out (-D metrics.reporters=...) leaves the books at 0 each, and they balance: not a pass. */
    @Test
    void booksOfZerosBesideInputRecordsFailAsMetricsNotReported() throws Exception {
        List<JobMetrics.Book> zeros = CorrectOutput.books().stream()
                .map(book -> new JobMetrics.Book(book.input(), 0, 0, 0, 0, 0))
                .toList();
        DemoSummary summary = summary(correct, zeros);
        assertTrue(zeros.stream().allMatch(JobMetrics.Book::holds), "0 = 0 + 0 + 0 + 0");
        assertFalse(summary.passed());
        assertEquals(1, summary.metricBookProblems().size(), summary.metricBookProblems().toString());
        String printed = print(summary);
        assertTrue(printed.contains("FAIL  the job's metrics were not reported: its books are empty, the input topics"
                + " hold "), printed);
        assertTrue(printed.contains("-D metrics.reporters must name strawless-demo"), printed);
        JsonNode json = JSON.readTree(summary.toJson());
        assertFalse(json.get("passed").asBoolean(), summary.toJson());
        assertEquals(1, json.get("metric_book_problems").size(), summary.toJson());
    }

    @Test
    void aBookThatCountsOtherInputsThanTheBrokerFails() {
        List<JobMetrics.Book> books = new ArrayList<>(CorrectOutput.books());
        JobMetrics.Book steps = books.get(0);
        assertEquals(Ledger.metricName(Ledger.Kind.STEPS), steps.input());
        // Still balanced in itself: one step fewer in, one fewer batched.
        books.set(0, new JobMetrics.Book(steps.input(), steps.in() - 1, steps.batched() - 1, steps.deadLettered(),
                steps.unscored(), steps.dropped()));
        DemoSummary summary = summary(correct, books);
        assertFalse(summary.passed());
        assertEquals(List.of("the job's books count %,d steps in, the broker holds %,d on %s".formatted(
                steps.in() - 1, steps.in(), InputTopic.STEPS.name(CorrectOutput.CONF))), summary.metricBookProblems());
    }

    @Test
    void booksThatCountOtherDeadLettersThanTheTopicFail() {
        List<JobMetrics.Book> books = new ArrayList<>(CorrectOutput.books());
        JobMetrics.Book steps = books.get(0);
        books.set(0, new JobMetrics.Book(steps.input(), steps.in(), steps.batched() - 1, steps.deadLettered() + 1,
                steps.unscored(), steps.dropped()));
        DemoSummary summary = summary(correct, books);
        assertFalse(summary.passed());
        assertEquals(List.of("the job's books count %,d dead letters, the dead-letter topic holds %,d".formatted(
                correct.deadLetters().size() + 1, correct.deadLetters().size())), summary.metricBookProblems());
    }

    @Test
    void anOutputThatDoesNotBalanceFails() {
        List<UnscoredTrajectory> unscored = new ArrayList<>(correct.unscored());
        unscored.remove(0);
        DemoSummary summary = summary(
                new CreditOutput(correct.batches(), correct.deadLetters(), unscored), CorrectOutput.books());
        assertFalse(summary.reconciled());
        assertFalse(summary.passed());
        assertTrue(print(summary).contains("FAIL  some steps or outcomes are unaccounted for"), print(summary));
    }

    /** A drill shows no books (counters restart with each attempt): the oracle and the restarts decide. */
    @Test
    void aDrillPassesOnlyWithTheOraclesBatchesAndEveryRestart() throws Exception {
        DemoRun.Faults faults = new DemoRun.Faults(3, true);
        DemoSummary clean = CorrectOutput.summary(CorrectOutput.result(correct, faults, 3, List.of()));
        assertTrue(clean.passed(), print(clean));
        assertTrue(JSON.readTree(clean.toJson()).get("passed").asBoolean());

        DemoSummary tooFewRestarts = CorrectOutput.summary(CorrectOutput.result(correct, faults, 2, List.of()));
        assertFalse(tooFewRestarts.passed());
        assertTrue(print(tooFewRestarts).contains("FAIL  fewer restarts than injected failures"));

        TrainingBatch batch = correct.batches().get(0);
        List<ScoredTrajectory> kept = new ArrayList<>(batch.getTrajectories());
        kept.remove(0);
        List<TrainingBatch> batches = CorrectOutput.replacing(correct.batches(), 0,
                TrainingBatch.newBuilder(batch).setTrajectories(kept).build());
        DemoSummary lost = CorrectOutput.summary(CorrectOutput.result(
                new CreditOutput(batches, correct.deadLetters(), correct.unscored()), faults, 3, List.of()));
        assertFalse(lost.passed());
        assertTrue(print(lost).contains("FAIL  the committed batches differ from the oracle's"), print(lost));
        JsonNode json = JSON.readTree(lost.toJson());
        assertFalse(json.get("passed").asBoolean());
        assertTrue(json.get("lost_steps").asLong() > 0, lost.toJson());
    }

    private static DemoSummary summary(CreditOutput output, List<JobMetrics.Book> books) {
        return CorrectOutput.summary(CorrectOutput.result(output, DemoRun.Faults.NONE, 0, books));
    }

    private static String print(DemoSummary summary) {
        StringWriter printed = new StringWriter();
        summary.print(new PrintWriter(printed));
        return printed.toString();
    }
}
