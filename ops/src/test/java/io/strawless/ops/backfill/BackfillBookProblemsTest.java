package io.strawless.ops.backfill;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.ops.demo.JobMetrics;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * What a finished backfill's books say is wrong ({@link Backfill#bookProblems}), against what its output topics hold:
 * a book that does not balance, and inputs the books count as gone one way that the topic of that way does not hold
 * (output lost after the books counted it, as in a transaction the broker aborted), one line each. The books of a
 * correct run over a range of 17 records: 10 steps (6 batched, 3 dead-lettered, 1 unscored), 3 outcomes (2 batched,
 * 1 dead-lettered), 4 verdicts (3 batched, 1 unscored).
 */
class BackfillBookProblemsTest {

    private static final List<JobMetrics.Book> BOOKS = List.of(
            new JobMetrics.Book("steps", 10, 6, 3, 1, 0),
            new JobMetrics.Book("outcomes", 3, 2, 1, 0, 0),
            new JobMetrics.Book("verdicts", 4, 3, 0, 1, 0));
    private static final long RANGE = 17;
    private static final OutputTally.UnscoredInputs UNSCORED = new OutputTally.UnscoredInputs(1, 0, 1, 0);

    @Test
    void aCorrectRunsOutputAgreesWithItsBooks() {
        assertEquals(List.of(), Backfill.bookProblems(BOOKS, RANGE, tally(6, 2, 4, UNSCORED)));
    }

    /**
     * A book that does not balance (an input that left the job by no way) and dead letters the dead-letter topic does
     * not hold (one the job counted but did not commit) are named, one line each.
     */
    @Test
    void booksThatDoNotBalanceOrDisagreeWithTheDeadLetterTopicAreNamed() {
        List<JobMetrics.Book> unbalanced = List.of(new JobMetrics.Book("steps", 11, 6, 3, 1, 0), BOOKS.get(1),
                BOOKS.get(2));

        assertEquals(List.of("the job's books do not balance for steps: 11 in, 10 out (6 batched + 3 dead-lettered + 1"
                + " unscored + 0 dropped)", "the job's books count 4 dead letters, the dead-letter topic holds 3"),
                Backfill.bookProblems(unbalanced, RANGE, tally(6, 2, 3, UNSCORED)));
    }

    /**
     * The books balance, but a batch the job counted is not on the batches topic: its transaction was aborted after
     * the books counted it. Named with its likely cause, and the backfill fails.
     */
    @Test
    void batchedInputsTheBatchesTopicDoesNotHoldAreNamed() {
        assertEquals(List.of("the job's books count 6 steps and 2 outcomes batched, the batches topic holds 4 and 1:"
                + " output the job counted was not committed, most likely in a transaction the broker aborted (see"
                + " ops/METRICS.md, Lost output)"), Backfill.bookProblems(BOOKS, RANGE, tally(4, 1, 4, UNSCORED)));
        // A trajectory scored without its outcome holds no outcome: steps alone may agree, and outcomes not.
        assertEquals(1, Backfill.bookProblems(BOOKS, RANGE, tally(6, 1, 4, UNSCORED)).size());
    }

    /** The same for the unscored topic, per kind: a lost unscored trajectory took its inputs with it. */
    @Test
    void unscoredInputsTheUnscoredTopicDoesNotHoldAreNamed() {
        assertEquals(List.of("the job's books count 1 steps, 0 outcomes and 1 verdicts unscored, the unscored topic"
                + " holds 0, 0 and 0: output the job counted was not committed, most likely in a transaction the broker"
                + " aborted (see ops/METRICS.md, Lost output)"), Backfill.bookProblems(BOOKS, RANGE,
                tally(6, 2, 4, new OutputTally.UnscoredInputs(0, 0, 0, 0))));
    }

    /**
     * An unscored trajectory still over kafka.max-record-bytes without its token ids goes out without its inputs, and
     * the topic cannot tell how many it stood for: the unscored topic is not compared then, the batches still are.
     */
    @Test
    void anUnscoredTopicWithTrajectoriesLeftWithoutTheirInputsIsNotCompared() {
        OutputTally.UnscoredInputs leftOut = new OutputTally.UnscoredInputs(0, 0, 0, 1);

        assertEquals(List.of(), Backfill.bookProblems(BOOKS, RANGE, tally(6, 2, 4, leftOut)));
        assertEquals(1, Backfill.bookProblems(BOOKS, RANGE, tally(5, 2, 4, leftOut)).size());
    }

    /** More on a topic than the books count is no loss, and not blamed on an aborted transaction. */
    @Test
    void inputsTheBooksDidNotCountAreNamedAsSuch() {
        assertEquals(List.of("the job's books count 6 steps and 2 outcomes batched, the batches topic holds 7 and 2:"
                + " inputs the job did not count that way (another producer writing to it?)"),
                Backfill.bookProblems(BOOKS, RANGE, tally(7, 2, 4, UNSCORED)));
    }

    /** Books of zeros beside the range's records: the metrics never reached them, and nothing else is judged. */
    @Test
    void booksOfZerosAreNamedAloneAsNotReported() {
        List<JobMetrics.Book> zeros = BOOKS.stream().map(book -> new JobMetrics.Book(book.input(), 0, 0, 0, 0, 0))
                .toList();

        List<String> problems = Backfill.bookProblems(zeros, RANGE, tally(6, 2, 4, UNSCORED));

        assertEquals(1, problems.size(), problems.toString());
        assertEquals(JobMetrics.notReported(zeros, RANGE).orElseThrow(), problems.get(0));
    }

    /** One batch of two trajectories, and one unscored trajectory, holding these inputs. */
    private static OutputTally tally(long steps, long outcomes, long deadLetters, OutputTally.UnscoredInputs unscored) {
        return new OutputTally(1, 2, steps, outcomes, new TreeSet<>(List.of("grpo grpo-none-test")), deadLetters,
                new TreeMap<>(Map.of("OUTCOME_TIMEOUT", 1L)), unscored);
    }
}
