package io.strawless.ops.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.Ledger.Kind;
import io.strawless.pipeline.Ledger.Way;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * The job's own books and restart count, read in-process. The local MiniCluster loads {@link Reporter}
 * (configured by {@link #attachTo}) like any Flink metric reporter; it keeps hold of every
 * {@code ledger.<kind>.<way>} counter of every operator subtask and of the job's {@code numRestarts}
 * gauge, and they are read on demand.
 *
 * <p>Flink does not checkpoint metrics: a restarted attempt registers fresh counters, from 0, that replace
 * the failed attempt's, and a job resumed from a savepoint starts its own. So the books balance only for a
 * job that ran start to end in one attempt; {@link DemoRun} shows them for such runs only. A counter keeps
 * its last value after its task ends, so the books can be read once the job has finished.
 */
public final class JobMetrics implements AutoCloseable {

    /** Name of the reporter in the Flink configuration ({@code metrics.reporter.<name>.*}). */
    static final String REPORTER_NAME = "strawless-demo";
    /** What to do where the job's metrics never reach the books. */
    public static final String NOT_REPORTED_FIX =
            "-D " + MetricOptions.REPORTERS_LIST.key() + " must name " + REPORTER_NAME + ", or be left unset";
    /** How Flink splits {@code metrics.reporters} (its ReporterSetupBuilder's pattern). */
    private static final Pattern REPORTER_LIST = Pattern.compile("\\s*,\\s*");
    /** Reporter setting that says which run's books a MiniCluster's reporter fills. */
    private static final String RUN_SETTING = "run";

    private static final String RESTARTS_GAUGE = "numRestarts";
    private static final String CHECKPOINTS_GAUGE = "numberOfCompletedCheckpoints";

    /** Runs by id: Flink creates reporters by reflection, so they find their run here. */
    private static final Map<String, JobMetrics> RUNS = new ConcurrentHashMap<>();

    private final String run = UUID.randomUUID().toString();
    /** Ledger counters by job, operator, subtask, kind and way: the latest attempt's counter wins. */
    private final Map<CounterKey, Counter> ledgerCounters = new ConcurrentHashMap<>();

    private final Map<String, Gauge<?>> restartGauges = new ConcurrentHashMap<>();
    private final Map<String, Gauge<?>> checkpointGauges = new ConcurrentHashMap<>();

    private JobMetrics() {}

    /** One input kind's books: every record read leaves by exactly one way. */
    public record Book(String input, long in, long batched, long deadLettered, long unscored, long dropped) {
        @JsonProperty("holds")
        public boolean holds() {
            return in == batched + deadLettered + unscored + dropped;
        }

        /** " = batched + dead-lettered + unscored + dropped   ok", or MISMATCH: what follows {@code in} in a summary. */
        public String sums() {
            return " = %,d + %,d + %,d + %,d   %s".formatted(batched, deadLettered, unscored, dropped,
                    holds() ? "ok" : "MISMATCH");
        }
    }

    private record CounterKey(String job, String operator, String subtask, Kind kind, Way way) {}

    /**
     * Books of zeros beside input records: the job's metrics never reached them (the demo and the backfill read them
     * in-process), and they say nothing of what the job did. Empty where a book counts something, or there was nothing
     * to read.
     *
     * @param inputRecords the records the job was given to read
     */
    public static Optional<String> notReported(List<Book> books, long inputRecords) {
        if (inputRecords == 0 || books.stream().anyMatch(book -> book.in() != 0)) {
            return Optional.empty();
        }
        return Optional.of("the job's metrics were not reported: its books are empty, the input topics hold %,d records"
                .formatted(inputRecords) + " (" + NOT_REPORTED_FIX + ")");
    }

    /**
     * Where the books' dead letters, summed over the input kinds, differ from the records of the dead-letter topic: a
     * dead letter the job counted but did not commit, or one it committed twice. Empty where they agree.
     */
    public static Optional<String> deadLettersDiffer(List<Book> books, long deadLetterTopicRecords) {
        long inBooks = books.stream().mapToLong(Book::deadLettered).sum();
        if (inBooks == deadLetterTopicRecords) {
            return Optional.empty();
        }
        return Optional.of("the job's books count %,d dead letters, the dead-letter topic holds %,d".formatted(
                inBooks, deadLetterTopicRecords));
    }

    /**
     * Sets up {@code conf} so that every job on a MiniCluster started with it reports to the returned books,
     * whether each job starts a cluster of its own (as {@code executeAsync} does) or shares one. Close them when the
     * run is over.
     */
    public static JobMetrics attachTo(Configuration conf) {
        JobMetrics metrics = new JobMetrics();
        RUNS.put(metrics.run, metrics);
        String prefix = "metrics.reporter." + REPORTER_NAME + ".";
        conf.set(ConfigOptions.key(prefix + "factory.class").stringType().noDefaultValue(), Factory.class.getName());
        conf.set(ConfigOptions.key(prefix + RUN_SETTING).stringType().noDefaultValue(), metrics.run);
        return metrics;
    }

    /**
     * Whether a cluster started with {@code conf} loads the books' reporter: as Flink reads {@code metrics.reporters},
     * every configured reporter where it names none, else only those it names.
     */
    static boolean reportedUnder(ReadableConfig conf) {
        List<String> named = conf.getOptional(MetricOptions.REPORTERS_LIST).stream()
                .flatMap(REPORTER_LIST::splitAsStream)
                .filter(name -> !name.isEmpty())
                .toList();
        return named.isEmpty() || named.contains(REPORTER_NAME);
    }

    /**
     * Refuses a {@code metrics.reporters} list under which the books' reporter is not loaded ({@link #reportedUnder}):
     * a run would find its books empty only at its end. For the checks a command makes before anything starts.
     *
     * @throws IllegalArgumentException naming the key and {@link #NOT_REPORTED_FIX}
     */
    public static void requireReported(ReadableConfig conf) {
        if (!reportedUnder(conf)) {
            throw new IllegalArgumentException(MetricOptions.REPORTERS_LIST.key() + "="
                    + conf.get(MetricOptions.REPORTERS_LIST) + " leaves out the reporter the job's books are read"
                    + " through: " + NOT_REPORTED_FIX);
        }
    }

    /** Restarts of all jobs of the run so far (the restart strategy's, not a resume from a savepoint). */
    public long restarts() {
        return restartGauges.values().stream()
                .mapToLong(gauge -> ((Number) gauge.getValue()).longValue())
                .sum();
    }

    /**
     * Whether a job of the run has reported its restart count: not where the reporter is left out (by {@code
     * metrics.reporters}), and then {@link #restarts()} reads 0 whatever happened.
     */
    public boolean countsRestarts() {
        return !restartGauges.isEmpty();
    }

    /** Restarts of {@code job} so far. */
    public long restarts(JobID job) {
        Gauge<?> gauge = restartGauges.get(job.toString());
        return gauge == null ? 0 : ((Number) gauge.getValue()).longValue();
    }

    /** Checkpoints of {@code job} completed so far (0 until its first). */
    public long completedCheckpoints(JobID job) {
        Gauge<?> gauge = checkpointGauges.get(job.toString());
        return gauge == null ? 0 : ((Number) gauge.getValue()).longValue();
    }

    /** The books of {@code job}'s current (or last) attempt, summed over operators and subtasks, by input kind. */
    public List<Book> books(JobID job) {
        Map<Kind, Map<Way, Long>> sums = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            Map<Way, Long> ways = new EnumMap<>(Way.class);
            for (Way way : Way.values()) {
                ways.put(way, 0L);
            }
            sums.put(kind, ways);
        }
        ledgerCounters.forEach((key, counter) -> {
            if (key.job().equals(job.toString())) {
                sums.get(key.kind()).merge(key.way(), counter.getCount(), Long::sum);
            }
        });
        List<Book> books = new ArrayList<>();
        sums.forEach((kind, ways) -> books.add(new Book(
                Ledger.metricName(kind),
                ways.get(Way.IN),
                ways.get(Way.BATCHED),
                ways.get(Way.DEAD_LETTERED),
                ways.get(Way.UNSCORED),
                ways.get(Way.DROPPED))));
        return books;
    }

    @Override
    public void close() {
        RUNS.remove(run);
    }

    private void added(Metric metric, String name, MetricGroup group) {
        Map<String, String> variables = group.getAllVariables();
        String job = variables.get("<job_id>");
        if (name.equals(RESTARTS_GAUGE) && metric instanceof Gauge<?> gauge && job != null) {
            restartGauges.put(job, gauge);
            return;
        }
        if (name.equals(CHECKPOINTS_GAUGE) && metric instanceof Gauge<?> gauge && job != null) {
            checkpointGauges.put(job, gauge);
            return;
        }
        String[] scope = group.getScopeComponents();
        if (!(metric instanceof Counter counter) || scope.length < 2 || !scope[scope.length - 2].equals("ledger")) {
            return;
        }
        Kind kind = kindNamed(scope[scope.length - 1]);
        Way way = wayNamed(name);
        if (kind != null && way != null) {
            ledgerCounters.put(
                    new CounterKey(job, variables.get("<operator_id>"), variables.get("<subtask_index>"), kind, way),
                    counter);
        }
    }

    private static Kind kindNamed(String name) {
        for (Kind kind : Kind.values()) {
            if (Ledger.metricName(kind).equals(name)) {
                return kind;
            }
        }
        return null;
    }

    private static Way wayNamed(String name) {
        for (Way way : Way.values()) {
            if (Ledger.metricName(way).equals(name)) {
                return way;
            }
        }
        return null;
    }

    /** Created by Flink from {@code metrics.reporter.strawless-demo.factory.class} (listed in META-INF/services). */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new Reporter(RUNS.get(properties.getProperty(RUN_SETTING)));
        }
    }

    /** Hands each metric the registry announces to its run's books; a reporter of a closed run ignores them. */
    private static final class Reporter implements MetricReporter {
        private final JobMetrics books;

        Reporter(JobMetrics books) {
            this.books = books;
        }

        @Override
        public void open(MetricConfig config) {}

        @Override
        public void close() {}

        @Override
        public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
            if (books != null) {
                books.added(metric, name, group);
            }
        }

        @Override
        public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
            // Kept: a finished task's counters still hold its final values, and the books are read after the job.
        }
    }
}
