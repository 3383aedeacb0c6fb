package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.StrawlessCli;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.TrainingBatch;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/**
 * Steps and outcomes on one topic ({@code -D topics.outcomes=<the steps topic>}, which the job supports): the broker
 * counts that topic's records, and the dead-letter topic names it, for both kinds together, so the demo balances it
 * and compares the books with it as one. A correct job's run passes; a lost record still fails it. A verdicts topic
 * shared with either is refused: nothing in the output counts the verdicts a batch used.
 */
class SharedInputTopicsTest {

    private static final String STEPS = InputTopic.STEPS.name(CorrectOutput.CONF);
    private static final String OUTCOMES = InputTopic.OUTCOMES.name(CorrectOutput.CONF);
    private static final String VERDICTS = InputTopic.VERDICTS.name(CorrectOutput.CONF);

    private final Configuration shared = sharedConf();
    /** What a correct job publishes where the fleet's outcomes went to the steps topic. */
    private final CreditOutput correct = onSharedTopic(CorrectOutput.output());

    @Test
    void aCorrectRunOnASharedTopicPasses() {
        DemoSummary summary = summary(correct, CorrectOutput.books());

        Reconciliation separate = Reconciliation.of(CorrectOutput.recordsIn(), CorrectOutput.output(),
                CorrectOutput.CONF);
        Reconciliation.Balance steps = separate.steps();
        Reconciliation.Balance outcomes = separate.outcomes();
        assertEquals(List.of(new Reconciliation.Balance(STEPS, steps.in() + outcomes.in(),
                steps.scored() + outcomes.scored(), steps.deadLettered() + outcomes.deadLettered(),
                steps.unscored() + outcomes.unscored())), summary.reconciliation(), "one balance, of both kinds");
        assertTrue(summary.passed(), print(summary));
        assertEquals(List.of(), summary.metricBookProblems());
        assertEquals(CorrectOutput.ledger().malformed(InputTopic.STEPS)
                + CorrectOutput.ledger().malformed(InputTopic.OUTCOMES), summary.malformedSent().get(STEPS),
                "the malformed steps and outcomes the fleet sent there");
        assertFalse(print(summary).contains("FAIL") || print(summary).contains("MISMATCH"), print(summary));
    }

    @Test
    void aBatchCommittedTwiceOnASharedTopicFails() {
        List<TrainingBatch> batches = new ArrayList<>(correct.batches());
        batches.add(batches.get(0));

        DemoSummary summary = summary(new CreditOutput(batches, correct.deadLetters(), correct.unscored()),
                CorrectOutput.books());

        assertFalse(summary.reconciled());
        assertFalse(summary.passed());
        assertTrue(print(summary).contains("FAIL  some steps or outcomes are unaccounted for"), print(summary));
    }

    /** The books count each kind apart; the broker counts the topic: their sum is compared with it. */
    @Test
    void booksThatCountOtherInputsThanTheSharedTopicHoldsFail() {
        List<JobMetrics.Book> books = new ArrayList<>(CorrectOutput.books());
        JobMetrics.Book outcomes = books.get(1);
        books.set(1, new JobMetrics.Book(outcomes.input(), outcomes.in() - 1, outcomes.batched() - 1,
                outcomes.deadLettered(), outcomes.unscored(), outcomes.dropped()));
        long onTopic = CorrectOutput.recordsIn().get(STEPS) + CorrectOutput.recordsIn().get(OUTCOMES);

        DemoSummary summary = summary(correct, books);

        assertEquals(List.of("the job's books count %,d steps and outcomes in, the broker holds %,d on %s".formatted(
                onTopic - 1, onTopic, STEPS)), summary.metricBookProblems());
    }

    /** A usage error before the broker starts, naming both keys; steps and outcomes on one topic are not refused. */
    @Test
    void aVerdictsTopicSharedWithStepsOrOutcomesIsRefusedNamingTheKeys() {
        Reconciliation.requireBalanceable(shared);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("demo", "-D", "topics.outcomes=" + STEPS, "-D", "topics.verdicts=" + STEPS);

        assertEquals(2, exitCode, err.toString());
        assertTrue(err.toString().startsWith("Invalid value: -D topics.verdicts=" + STEPS + " is also topics.steps:"
                + " the demo balances each input topic's records against the output, which does not list the verdicts"
                + " a batch used; give the verdicts a topic of their own"), err.toString());
        assertEquals("", out.toString(), "nothing started");
    }

    /** A run on {@code output} with {@code books}, as the demo summarises it. */
    private DemoSummary summary(CreditOutput output, List<JobMetrics.Book> books) {
        Map<String, Long> recordsIn = recordsIn();
        DemoRun.Result result = new DemoRun.Result(CorrectOutput.SCRIPT, recordsIn, output,
                Reconciliation.of(recordsIn, output, shared), Duration.ofSeconds(10), DemoRun.Faults.NONE, 0, 0, books);
        return DemoSummary.of(result, CorrectOutput.FLEET, 2, Duration.ofSeconds(20), shared);
    }

    private static Configuration sharedConf() {
        Configuration conf = new Configuration(CorrectOutput.CONF);
        conf.set(KafkaOptions.OUTCOMES_TOPIC, STEPS);
        return conf;
    }

    /** The broker's count: the outcomes' records on the steps topic. */
    private static Map<String, Long> recordsIn() {
        Map<String, Long> separate = CorrectOutput.recordsIn();
        return Map.of(STEPS, separate.get(STEPS) + separate.get(OUTCOMES), VERDICTS, separate.get(VERDICTS));
    }

    /** {@code output} with the dead letters of the outcomes topic from the steps topic instead. */
    private static CreditOutput onSharedTopic(CreditOutput output) {
        List<DeadLetter> deadLetters = output.deadLetters().stream()
                .map(d -> d.getTopic().equals(OUTCOMES) ? DeadLetter.newBuilder(d).setTopic(STEPS).build() : d)
                .toList();
        return new CreditOutput(output.batches(), deadLetters, output.unscored());
    }

    private static String print(DemoSummary summary) {
        StringWriter printed = new StringWriter();
        summary.print(new PrintWriter(printed));
        return printed.toString();
    }
}
