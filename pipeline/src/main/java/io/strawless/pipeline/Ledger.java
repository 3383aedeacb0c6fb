package io.strawless.pipeline;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import java.util.EnumMap;
import java.util.Locale;
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
 *
 * <p>An operator declares, when it opens, every kind and way it can count ({@link #counting}): those counters
 * exist from then on, at 0, so that a reconciliation query finds every term of the sum before the first record
 * takes that way (a series that appears only with its first event leaves {@code in - (batched + ...)} empty). It
 * declares only those it can count: the counters of one kind and way, summed over the operators, are that kind's
 * records that went that way.
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

    /** Registers, at 0, the counters of {@code ways} for every kind. */
    public Ledger counting(Way... ways) {
        for (Kind kind : Kind.values()) {
            counting(kind, ways);
        }
        return this;
    }

    /** Registers, at 0, the counters of {@code ways} for {@code kind}. */
    public Ledger counting(Kind kind, Way... ways) {
        for (Way way : ways) {
            counter(kind, way);
        }
        return this;
    }

    /**
     * Counts {@code records} of {@code kind} that went {@code way}. A way the operator did not declare is
     * registered at its first record, as a last resort: its series then appears late.
     */
    public void count(Kind kind, Way way, long records) {
        if (records > 0) {
            counter(kind, way).inc(records);
        }
    }

    /** Counts every input of {@code trajectory} (its steps, the outcome it received, its verdicts) as gone {@code way}. */
    public void count(AssembledTrajectory trajectory, Way way) {
        count(Kind.STEPS, way, trajectory.steps().size());
        count(Kind.OUTCOMES, way, trajectory.outcomesReceived().size());
        count(Kind.VERDICTS, way, trajectory.verdicts().size());
    }

    private Counter counter(Kind kind, Way way) {
        return counters.computeIfAbsent(kind, k -> new EnumMap<>(Way.class))
                .computeIfAbsent(way, w -> group.addGroup(metricName(kind)).counter(metricName(way)));
    }

    /**
     * steps, outcomes, verdicts: the group names under {@code ledger}. In {@link Locale#ROOT}, as every name below:
     * the JVM's own locale would rename them on some hosts (Turkish lower-cases I to a dotless ı: "ın", "verdıcts").
     */
    public static String metricName(Kind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    /** in, batched, deadLettered, unscored, dropped: the counter names. */
    public static String metricName(Way way) {
        String[] parts = way.name().toLowerCase(Locale.ROOT).split("_");
        return parts.length == 1 ? parts[0] : parts[0] + Character.toUpperCase(parts[1].charAt(0)) + parts[1].substring(1);
    }
}
