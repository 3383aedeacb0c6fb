package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.ops.fleet.MutationGenerator;
import io.strawless.ops.fleet.MutationGenerator.MixedTraffic;
import io.strawless.ops.fleet.MutationGenerator.Mutation;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad input at volume: 100,000 mutated records (see {@link MutationGenerator}) mixed into a fleet's good
 * traffic, against the real job on a MiniCluster with the in-process broker. The job must never fail (the
 * restart strategy is off, so any failure would end the run), every mutated record must end in the
 * dead-letter or the unscored topic with a reason, and the good trajectories must be scored exactly as
 * the oracle scores them from the good traffic alone, which is what a clean run of it gives (see
 * {@link ExactlyOnceUnderFaultsTest} and the end-to-end scenario).
 *
 * <p>Bit flips can leave an event time decodable but shifted. One far ahead is dead-lettered and must not
 * move the watermark; one a little ahead (within {@code job.max-future-event-time}) is accepted, and moves it no
 * further than the job's clock. The test runs with the defaults (it passes with 10 minutes ahead accepted, the
 * default until 2026-11-27, too). It once had to accept only 30 s ahead and allow 1 min of lateness: about 1,900
 * good steps were routed LATE behind a watermark that records far ahead had pushed through their Kafka timestamp,
 * until that timestamp stopped counting beyond now.
 */
class BadInputAtVolumeTest {

    private static final int MUTATIONS = 100_000;
    private static final int MAX_TOKENS_PER_STEP = 256;
    private static final FleetSettings GOOD_TRAFFIC = new FleetSettings(50, 20, 2_000, 4, 3, 12, 0, 0, 0.2, 11);

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void mutatedRecordsAreAccountedForAndGoodTrajectoriesScoredAsWithoutThem() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 2);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // the first failure would end the run
        ExactlyOnceCheck.configureOracleCredit(conf);
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        conf.set(JobOptions.MAX_TOKENS_PER_STEP, MAX_TOKENS_PER_STEP);

        MixedTraffic traffic = new MutationGenerator(5, MAX_TOKENS_PER_STEP)
                .mixInto(FleetScript.generate(GOOD_TRAFFIC, Instant.now()), MUTATIONS);
        DemoRun.Result result = DemoRun.run(conf, traffic.script(), DemoRun.Faults.NONE, line -> {});
        FleetLedger good = result.script().ledger();
        CreditOutput output = result.output();

        assertEquals(0, result.restarts(), "the job never failed");

        ExactlyOnceCheck check = ExactlyOnceCheck.of(good, output);
        assertTrue(check.passed(), check.toString());
        assertEquals(good.validSteps(), check.expectedSteps(), "every good trajectory had its outcome");

        // Mutated records end as dead letters or inside unscored trajectories of their own (good ones may have
        // unscored stragglers too: a verdict that came after its trajectory was scored).
        Map<String, Long> byReason = new TreeMap<>();
        for (DeadLetter deadLetter : output.deadLetters()) {
            byReason.merge("dead letter " + deadLetter.getErrorClass(), 1L, Long::sum);
        }
        for (UnscoredTrajectory unscored : output.unscored()) {
            if (!good.trajectories().containsKey(unscored.getTrajectoryId())) {
                long records = unscored.getSteps().size()
                        + unscored.getOutcomes().size()
                        + unscored.getVerdicts().size();
                assertEquals(1, records, "a mutated record is alone in its trajectory: " + unscored);
                byReason.merge("unscored " + unscored.getReason(), records, Long::sum);
            }
        }
        System.out.printf(
                "%,d mutated records among %,d: %s%n",
                MUTATIONS, traffic.script().records().size(), byReason);
        assertEquals(
                MUTATIONS,
                byReason.values().stream().mapToLong(Long::longValue).sum(),
                "every mutated record is accounted for, once: " + byReason + "; the job's books: "
                        + result.metricBooks());

        // The mutations whose fate does not depend on chance end as they must.
        atLeast(byReason, "dead letter UNKNOWN_SCHEMA", traffic.mutated(Mutation.UNKNOWN_FINGERPRINT));
        atLeast(byReason, "dead letter NULL_VALUE", traffic.mutated(Mutation.NULL_VALUE));
        atLeast(byReason, "dead letter BAD_HEADER", traffic.mutated(Mutation.GARBAGE));
        atLeast(byReason, "dead letter WRONG_RECORD_TYPE", traffic.mutated(Mutation.WRONG_TOPIC));
        atLeast(byReason, "dead letter NON_FINITE_NUMBER", traffic.mutated(Mutation.NON_FINITE));
        atLeast(byReason, "dead letter SCORE_OUT_OF_RANGE", traffic.mutated(Mutation.SCORE_OUT_OF_RANGE));
        atLeast(
                byReason,
                "dead letter INVALID_STEP_INDEX",
                traffic.mutated(Mutation.NEGATIVE_STEP_INDEX) + traffic.mutated(Mutation.HUGE_STEP_INDEX));
        atLeast(byReason, "dead letter OVERSIZED_PAYLOAD", traffic.mutated(Mutation.OVERSIZED_PAYLOAD));
        atLeast(
                byReason,
                "unscored " + UnscoredReason.UNKNOWN_TRAJECTORY,
                traffic.mutated(Mutation.UNKNOWN_TRAJECTORY_OUTCOME)
                        + traffic.mutated(Mutation.UNKNOWN_TRAJECTORY_VERDICT));

        // The job's own books agree: one attempt, every record of every kind out by one way.
        assertTrue(result.reconciliation().holds(), result.reconciliation().toString());
        Map<String, JobMetrics.Book> books =
                result.metricBooks().stream().collect(Collectors.toMap(JobMetrics.Book::input, Function.identity()));
        books.values().forEach(book -> assertTrue(book.holds(), book.toString()));
        assertEquals(
                result.recordsIn().get(InputTopic.STEPS.name(conf)),
                books.get("steps").in());
        assertEquals(
                result.recordsIn().get(InputTopic.OUTCOMES.name(conf)),
                books.get("outcomes").in());
        assertEquals(
                result.recordsIn().get(InputTopic.VERDICTS.name(conf)),
                books.get("verdicts").in());
        assertEquals(
                output.deadLetters().size(),
                books.values().stream().mapToLong(JobMetrics.Book::deadLettered).sum(),
                "dead letters, by the books");
    }

    private static void atLeast(Map<String, Long> byReason, String reason, long sent) {
        assertTrue(byReason.getOrDefault(reason, 0L) >= sent, reason + ": " + byReason.get(reason) + " < " + sent);
    }
}
