package io.strawless.pipeline;

import io.strawless.connectors.serde.InputRecord;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * The job's books: every input record leaves by exactly one way, and a counter per input kind and way
 * says how many did, so that for each kind
 *
 * <pre>in = batched + deadLettered + unscored + dropped</pre>
 *
 * <p>Metric names: {@code <operator scope>.ledger.<kind>.<way>}, e.g. {@code ledger.steps.in}. "dropped"
 * is only ever an identical duplicate step or a superseded outcome revision: copies of information
 * that was kept. Counters restart with the job attempt (Flink metrics are not checkpointed); the
 * committed topics are the durable record.
 */
public final class Ledger {

    /** What kind of input a record was. */
    public enum Kind {
        STEPS,
        OUTCOMES,
        VERDICTS;

        /** The kind of a decoded input; a dead letter's kind is its topic's, which only the caller knows. */
        public static Kind of(InputRecord input) {
            return switch (input.kind()) {
                case STEP -> STEPS;
                case OUTCOME -> OUTCOMES;
                case VERDICT -> VERDICTS;
                case DEAD_LETTER -> throw new IllegalArgumentException("a dead letter has the kind of its topic");
            };
        }
    }

    /** The ways out. */
    public enum Way {
        IN,
        BATCHED,
        DEAD_LETTERED,
        UNSCORED,
        DROPPED
    }

    private final Map<Kind, Map<Way, Counter>> counters = new EnumMap<>(Kind.class);
    private final MetricGroup group;

    public Ledger(MetricGroup operatorGroup) {
        this.group = operatorGroup.addGroup("ledger");
    }

    public void count(Kind kind, Way way, long records) {
        if (records > 0) {
            counters.computeIfAbsent(kind, k -> new EnumMap<>(Way.class))
                    .computeIfAbsent(way, w -> group.addGroup(metricName(kind)).counter(metricName(way)))
                    .inc(records);
        }
    }

    /** steps, outcomes, verdicts: the group names under {@code ledger}. */
    public static String metricName(Kind kind) {
        return kind.name().toLowerCase();
    }

    /** in, batched, deadLettered, unscored, dropped: the counter names. */
    public static String metricName(Way way) {
        String[] parts = way.name().toLowerCase().split("_");
        return parts.length == 1 ? parts[0] : parts[0] + Character.toUpperCase(parts[1].charAt(0)) + parts[1].substring(1);
    }
}
