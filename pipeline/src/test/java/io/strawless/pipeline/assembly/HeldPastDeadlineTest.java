package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.overTheNetwork;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.terminalStep;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.RecordedMetrics;
import io.strawless.pipeline.StringKeys;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * An input read ahead of the watermark (a backfill reads small partitions ahead of the steps') with an event time
 * past its open trajectory's deadline is held until the watermark passes the deadline: it then joins where inputs
 * with earlier event times, read after it, moved the deadline past it, and is LATE where not, as it would have been
 * live. So the backfill's read order gives what the live order gives: the same outputs, counters and books. Each
 * case runs input by input and in mini-batches, on the heap and on RocksDB.
 */
class HeldPastDeadlineTest {

    private static final long TIMEOUT = 1_000;
    private static final long VERIFIER_TIMEOUT = 300;
    private static final int MINI_BATCH = 3;

    /** An input, or the watermark advancing to an event time. */
    private sealed interface Action {}

    private record Input(InputRecord input) implements Action {}

    private record Advance(long watermark) implements Action {}

    /** What a run put out and left, in the order it came (both orders of a case put it out in the same order). */
    private record Outputs(List<String> trajectories, List<UnscoredTrajectory> unscored, Map<String, Long> ledger,
            Map<String, Long> assembly, long openTrajectories, int stateLeft, int timersLeft) {}

    private static Configuration conf(boolean miniBatches) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.VERIFIER_TIMEOUT, Duration.ofMillis(VERIFIER_TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(5 * TIMEOUT));
        conf.set(JobOptions.MINI_BATCH_SIZE, miniBatches ? MINI_BATCH : 1);
        return conf;
    }

    /** Runs the actions, then drains (the end of a backfill), as the job's assembler does. */
    private static Outputs run(Configuration conf, boolean rocksdb, List<Action> actions) throws Exception {
        AssembleTrajectory assembler = new AssembleTrajectory(conf);
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(new MiniBatchAssembler(assembler, conf),
                InputRecord::trajectoryId, StringKeys.TYPE, metrics.environment())) {
            if (rocksdb) {
                harness.setStateBackend(new EmbeddedRocksDBStateBackend());
            }
            harness.open();
            for (Action action : actions) {
                if (action instanceof Input in) {
                    harness.processElement(new StreamRecord<>(overTheNetwork(in.input()), in.input().timestamp));
                } else if (action instanceof Advance advance) {
                    harness.processWatermark(advance.watermark());
                }
            }
            harness.endInput();
            List<String> trajectories = new ArrayList<>();
            for (StreamRecord<? extends AssembledTrajectory> out : harness.extractOutputStreamRecords()) {
                AssembledTrajectory t = out.getValue();
                trajectories.add(t.trajectoryId() + " @" + out.getTimestamp() + " steps " + t.steps() + " outcome "
                        + t.outcome() + " verdicts " + t.verdicts() + " lineage " + t.lineage() + " outcome timed out "
                        + t.outcomeTimedOut() + " verifiers timed out " + t.verifiersTimedOut());
            }
            List<UnscoredTrajectory> unscored = new ArrayList<>();
            var side = harness.getSideOutput(AssembleTrajectory.UNSCORED);
            if (side != null) {
                side.forEach(r -> unscored.add(r.getValue()));
            }
            return new Outputs(trajectories, unscored, metrics.counters("ledger"), metrics.counters("assembly"),
                    assembler.openWork().getValue(), stateLeft(harness), harness.numEventTimeTimers());
        }
    }

    /** Keys with state of each of the assembler's states (the RocksDB harness does not count state entries). */
    private static int stateLeft(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> harness) {
        int left = 0;
        for (String state : List.of("progress", "steps", "verdicts", "finished", "held-past-deadline")) {
            try (var keys = harness.getOperator().getKeyedStateBackend().getKeys(state, VoidNamespace.INSTANCE)) {
                left += (int) keys.count();
            }
        }
        return left;
    }

    private static List<UnscoredReason> reasons(Outputs outputs) {
        return outputs.unscored().stream().map(UnscoredTrajectory::getReason).toList();
    }

    private static void assertSameAsLive(Outputs live, Outputs backfill) {
        assertEquals(live.trajectories(), backfill.trajectories(), "trajectories");
        assertEquals(live.unscored(), backfill.unscored(), "unscored");
        assertEquals(live.ledger(), backfill.ledger(), "the books");
        assertEquals(live.assembly(), backfill.assembly(), "the assembler's counters");
        assertEquals(0, backfill.openTrajectories(), "open trajectories");
        assertEquals(0, backfill.stateLeft(), "state left behind");
        assertEquals(0, backfill.timersLeft(), "timers left behind");
    }

    private static Input of(InputRecord input) {
        return new Input(input);
    }

    /** The steps arrived, the outcome came after the outcome timeout: OUTCOME_TIMEOUT, and the outcome LATE. */
    @ParameterizedTest(name = "mini-batches {0}, RocksDB {1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void anOutcomePastTheOutcomeTimeoutReadAheadOfTheWatermarkIsLateAsLive(boolean miniBatches, boolean rocksdb)
            throws Exception {
        InputRecord step0 = in(step("t1", 0, 100).build());
        InputRecord step1 = in(terminalStep("t1", 1, 200));
        InputRecord outcome = in(outcome("t1", 1.0, 0, 200 + TIMEOUT + 300));
        Outputs live = run(conf(miniBatches), rocksdb, List.of(of(step0), of(step1), new Advance(200 + TIMEOUT),
                of(outcome), new Advance(200 + TIMEOUT + 300)));
        Outputs backfill = run(conf(miniBatches), rocksdb, List.of(of(step0), of(step1), of(outcome),
                new Advance(200 + TIMEOUT), new Advance(200 + TIMEOUT + 300)));

        assertEquals(List.of(), live.trajectories());
        assertEquals(List.of(UnscoredReason.OUTCOME_TIMEOUT, UnscoredReason.LATE), reasons(live));
        assertEquals(Map.of("steps.unscored", 2L, "outcomes.unscored", 1L), nonZero(live.ledger()));
        assertSameAsLive(live, backfill);
    }

    /**
     * A long trajectory: its steps every 30 s over 10 min, a 5 min inactivity timeout. Its outcome (at 10 min) is read
     * when only the steps up to 2 min were, past the deadline they set; the steps read after it move the deadline past
     * it, as they would have come before it live: it is scored with its outcome. Ending it when the outcome was read
     * would have sent it to the unscored topic, and its later steps as LATE. A trajectory whose steps stop at 2 min,
     * its outcome read at the same point, times out INCOMPLETE at 7 min without it, and the outcome is LATE.
     */
    @ParameterizedTest(name = "mini-batches {0}, RocksDB {1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void aLongTrajectorysOutcomeReadBeforeItsLaterStepsIsScoredWithItAsLive(boolean miniBatches, boolean rocksdb)
            throws Exception {
        Configuration conf = conf(miniBatches);
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMinutes(5));
        conf.set(JobOptions.INACTIVITY_TIMEOUT, Duration.ofMinutes(5));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofHours(1)); // the stalled one's marker outlives its outcome
        long every = Duration.ofSeconds(30).toMillis();
        int last = 20; // 10 min
        List<Action> steps = new ArrayList<>();
        for (int i = 0; i <= last; i++) {
            InputRecord step = in(i == last ? terminalStep("long", i, i * every) : step("long", i, i * every).build());
            steps.add(of(step));
            if (i <= 4) {
                steps.add(of(in(step("stalled", i, i * every).build())));
            }
            steps.add(new Advance(i * every)); // the steps' partition holds the watermark back
        }
        List<Action> outcomes = List.of(of(in(outcome("long", 1.0, 0, last * every))),
                of(in(outcome("stalled", 1.0, 0, last * every))));
        List<Action> liveOrder = new ArrayList<>(steps);
        liveOrder.addAll(liveOrder.size() - 1, outcomes); // after the terminal step, before the watermark passes it
        List<Action> backfillOrder = new ArrayList<>(steps);
        backfillOrder.addAll(3 * 5, outcomes); // after the steps up to 2 min (and their watermarks)

        Outputs live = run(conf, rocksdb, liveOrder);
        Outputs backfill = run(conf, rocksdb, backfillOrder);

        assertEquals(1, live.trajectories().size());
        assertTrue(live.trajectories().get(0).startsWith("long @" + last * every), live.trajectories().get(0));
        assertTrue(live.trajectories().get(0).contains("outcome timed out false"), live.trajectories().get(0));
        assertEquals(List.of(UnscoredReason.INCOMPLETE, UnscoredReason.LATE), reasons(live));
        assertEquals(List.of(5, 0), live.unscored().stream().map(u -> u.getSteps().size()).toList());
        assertSameAsLive(live, backfill);
    }

    /**
     * Required verdicts missing at the verifier timeout: scored with those that came, and marked; a verdict past the
     * timeout is LATE, also where it is read before the watermark passes the timeout.
     */
    @ParameterizedTest(name = "mini-batches {0}, RocksDB {1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void aVerdictPastTheVerifierTimeoutReadAheadOfTheWatermarkIsLateAsLive(boolean miniBatches, boolean rocksdb)
            throws Exception {
        Configuration conf = conf(miniBatches);
        conf.set(JobOptions.REQUIRED_VERIFIERS, List.of("prm"));
        InputRecord step0 = in(step("t1", 0, 100).build());
        InputRecord step1 = in(terminalStep("t1", 1, 100));
        InputRecord outcome = in(outcome("t1", 1.0, 0, 200));
        InputRecord early = in(verdict("t1", 0, "prm", 0.9, 210));
        InputRecord late = in(verdict("t1", 1, "prm", 0.8, 200 + VERIFIER_TIMEOUT + 100));
        Outputs live = run(conf, rocksdb, List.of(of(step0), of(step1), of(outcome), of(early),
                new Advance(200 + VERIFIER_TIMEOUT), of(late), new Advance(200 + VERIFIER_TIMEOUT + 100)));
        Outputs backfill = run(conf, rocksdb, List.of(of(step0), of(step1), of(outcome), of(early), of(late),
                new Advance(200 + VERIFIER_TIMEOUT), new Advance(200 + VERIFIER_TIMEOUT + 100)));

        assertEquals(1, live.trajectories().size());
        assertTrue(live.trajectories().get(0).contains("verifiers timed out true"), live.trajectories().get(0));
        assertEquals(List.of(UnscoredReason.LATE), reasons(live));
        assertEquals(Map.of("verdicts.unscored", 1L), nonZero(live.ledger()));
        assertSameAsLive(live, backfill);
    }

    /**
     * The end of a backfill (or a drain) with inputs still held: the trajectory times out, its held inputs are its
     * stragglers, each counted once, and nothing is left.
     */
    @ParameterizedTest(name = "mini-batches {0}, RocksDB {1}")
    @CsvSource({"false, false", "true, false", "false, true", "true, true"})
    void aDrainWithHeldInputsRoutesThemAndLeavesNoState(boolean miniBatches, boolean rocksdb)
            throws Exception {
        Outputs drained = run(conf(miniBatches), rocksdb, List.of(
                of(in(step("t1", 0, 100).build())),
                of(in(terminalStep("t1", 1, 200))),
                of(in(outcome("t1", 1.0, 0, 200 + TIMEOUT + 300))),
                of(in(verdict("t1", 0, "v1", 0.5, 200 + TIMEOUT + 400)))));

        assertEquals(List.of(), drained.trajectories());
        assertEquals(List.of(UnscoredReason.OUTCOME_TIMEOUT, UnscoredReason.LATE, UnscoredReason.LATE),
                reasons(drained));
        assertEquals(Map.of("steps.unscored", 2L, "outcomes.unscored", 1L, "verdicts.unscored", 1L),
                nonZero(drained.ledger()));
        assertFalse(drained.assembly().getOrDefault("outcomesIn", 0L) > 0, "a straggler is not an input taken in");
        assertEquals(0, drained.openTrajectories(), "open trajectories");
        assertEquals(0, drained.stateLeft(), "state left behind");
        assertEquals(0, drained.timersLeft(), "timers left behind");
    }

    private static Map<String, Long> nonZero(Map<String, Long> counters) {
        Map<String, Long> nonZero = new TreeMap<>();
        counters.forEach((name, count) -> {
            if (count != 0) {
                nonZero.put(name, count);
            }
        });
        return nonZero;
    }
}
