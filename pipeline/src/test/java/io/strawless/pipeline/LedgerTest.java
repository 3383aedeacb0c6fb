package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.Ledger.Kind;
import io.strawless.pipeline.Ledger.Way;
import io.strawless.pipeline.assembly.AssembleTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.MiniBatchAssembler;
import io.strawless.pipeline.assembly.ValidateInputs;
import io.strawless.pipeline.batching.ScoreAndBatchOperator;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.grouping.GroupTrajectories;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The books' counters exist from the moment each operator opens, at 0: a reconciliation query ({@code in - (batched +
 * deadLettered + unscored + dropped)}) has every term before the first record takes a way. Each operator registers
 * only the kinds and ways it counts, the operators as the job wires them.
 */
class LedgerTest {

    private static Configuration conf() {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        return conf;
    }

    @Test
    void validateRegistersEveryKindInAndDeadLetteredWhenItOpens() throws Exception {
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new ValidateInputs(conf())), metrics.environment())) {
            assertEquals(atZero(everyKind(Way.IN, Way.DEAD_LETTERED)), afterOpen(harness, metrics));
        }
    }

    /** Turkish lower-cases I to a dotless ı: named in the JVM's locale, "verdicts.in" would be "verdıcts.ın". */
    @Test
    void theBooksAreNamedAlikeWhateverTheJvmsLocale() throws Exception {
        Locale before = Locale.getDefault();
        Locale.setDefault(Locale.forLanguageTag("tr"));
        try {
            RecordedMetrics metrics = new RecordedMetrics();
            try (var harness = new OneInputStreamOperatorTestHarness<>(
                    new ProcessOperator<>(new ValidateInputs(conf())), metrics.environment())) {
                assertEquals(Set.of("steps.in", "outcomes.in", "verdicts.in", "steps.deadLettered",
                        "outcomes.deadLettered", "verdicts.deadLettered"), afterOpen(harness, metrics).keySet());
            }
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void assembleRegistersWhatItDeadLettersUnscoresAndDropsWhenItOpens() throws Exception {
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(new AssembleTrajectory(conf()), conf()), InputRecord::trajectoryId,
                StringKeys.TYPE, metrics.environment())) {
            Set<String> expected = everyKind(Way.DEAD_LETTERED, Way.UNSCORED);
            expected.add("steps.dropped"); // an identical re-delivery
            expected.add("outcomes.dropped"); // a superseded revision, or a copy
            assertEquals(atZero(expected), afterOpen(harness, metrics));
        }
    }

    @Test
    void groupRegistersEveryKindUnscoredWhenItOpens() throws Exception {
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(new GroupTrajectories(conf())), AssembledTrajectory::taskId,
                StringKeys.TYPE, metrics.environment())) {
            assertEquals(atZero(everyKind(Way.UNSCORED)), afterOpen(harness, metrics));
        }
    }

    @Test
    void scoreAndBatchRegistersEveryKindBatchedAndUnscoredWhenItOpens() throws Exception {
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new ScoreAndBatchOperator(conf(), new int[] {0}), group -> 0, Types.INT, metrics.environment())) {
            assertEquals(atZero(everyKind(Way.BATCHED, Way.UNSCORED)), afterOpen(harness, metrics));
        }
    }

    private static Map<String, Long> afterOpen(AbstractStreamOperatorTestHarness<?> harness, RecordedMetrics metrics)
            throws Exception {
        harness.open();
        return metrics.counters("ledger");
    }

    private static Set<String> everyKind(Way... ways) {
        Set<String> names = new TreeSet<>();
        for (Kind kind : Kind.values()) {
            for (Way way : ways) {
                names.add(Ledger.metricName(kind) + "." + Ledger.metricName(way));
            }
        }
        return names;
    }

    private static Map<String, Long> atZero(Set<String> names) {
        Map<String, Long> counters = new TreeMap<>();
        names.forEach(name -> counters.put(name, 0L));
        return counters;
    }
}
