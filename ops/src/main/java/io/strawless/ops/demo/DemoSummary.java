package io.strawless.ops.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ReadableConfig;

/**
 * What a demo run did, for people (the printed summary) and for scripts (one JSON object, snake_case keys).
 *
 * @param stepsIn            records on the steps topic, malformed ones included (and the outcomes where they share it)
 * @param trajectoriesScored trajectories in committed batches
 * @param scoredWithoutOutcome of them, those scored on verifier signals alone after their outcome timed out
 *                           ({@code job.outcome-timeout-policy=PROCESS_ONLY})
 * @param scoredSteps        steps in committed batches
 * @param deadLetters        records in the dead-letter topic, from all input topics
 * @param unscored           records in the unscored topic: trajectories that timed out, and stragglers
 *                           (e.g. a verifier signal that came after its trajectory was scored)
 * @param stepsPerSecond     steps in over the ingest time
 * @param ingestSeconds      from the fleet's first send until the job had processed and checkpointed every input
 * @param wallSeconds        the whole run: broker and job start-up, fleet, drain, read-back
 * @param reconciled         whether every step and outcome is accounted for
 * @param metricBooks        the job's own ledger counters by input kind; empty after a restart or resume
 * @param metricBookProblems where the books disagree with the broker's count of their input topic or with the
 *                           dead-letter topic, one line each; empty where they agree or no books are shown
 * @param injectedFailures   task failures injected ({@code --inject-failures})
 * @param savepointResume    whether the job was stopped with a savepoint midway and resumed
 * @param restarts           restarts the job's restart strategy made
 * @param resumedAfter       input records processed before the savepoint; 0 without a resume
 * @param exactlyOnce        the committed batches against the oracle, for runs with injected faults (its
 *                           fields appear at the top level of the JSON: lost_steps, duplicated_steps,
 *                           mismatched_advantages...); null otherwise
 */
public record DemoSummary(
    long stepsIn,
    long trajectoriesScored,
    long scoredWithoutOutcome,
    long scoredSteps,
    long batches,
    long deadLetters,
    Map<String, Long> deadLettersByTopic,
    long unscored,
    Map<String, Long> unscoredByReason,
    long unscoredSteps,
    Map<String, Long> recordsIn,
    Map<String, Long> malformedSent,
    double stepsPerSecond,
    double ingestSeconds,
    double wallSeconds,
    boolean reconciled,
    List<Reconciliation.Balance> reconciliation,
    List<JobMetrics.Book> metricBooks,
    List<String> metricBookProblems,
    int injectedFailures,
    boolean savepointResume,
    long restarts,
    long resumedAfter,
    @JsonUnwrapped ExactlyOnceCheck exactlyOnce,
    FleetSettings fleet,
    int parallelism) {

  private static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .disable(SerializationFeature.INDENT_OUTPUT);

  public static DemoSummary of(DemoRun.Result result, FleetSettings fleet, int parallelism, Duration wall,
      ReadableConfig conf) {
    CreditOutput output = result.output();
    FleetLedger ledger = result.script().ledger();
    Map<String, Long> malformed = new TreeMap<>();
    for (InputTopic topic : InputTopic.values()) {
      malformed.merge(topic.name(conf), ledger.malformed(topic), Long::sum); // kinds may share a topic
    }
    return new DemoSummary(
        result.reconciliation().steps().in(),
        output.scoredTrajectories().count(),
        output.scoredTrajectories().filter(t -> t.getOutcomeTimedOut()).count(),
        output.scoredSteps(),
        output.batches().size(),
        output.deadLetters().size(),
        new TreeMap<>(output.deadLetters().stream()
            .collect(Collectors.groupingBy(d -> d.getTopic(), Collectors.counting()))),
        output.unscored().size(),
        new TreeMap<>(output.unscored().stream()
            .collect(Collectors.groupingBy(u -> u.getReason().name(), Collectors.counting()))),
        output.unscored().stream().mapToLong(u -> u.getSteps().size()).sum(),
        result.recordsIn(),
        malformed,
        result.stepsPerSecond(),
        result.ingest().toMillis() / 1000.0,
        wall.toMillis() / 1000.0,
        result.reconciliation().holds(),
        result.reconciliation().balances(),
        result.metricBooks(),
        metricBookProblems(result.metricBooks(), result.recordsIn(), output.deadLetters().size(), conf),
        result.faults().injectedFailures(),
        result.faults().savepointResume(),
        result.restarts(),
        result.resumedAfter(),
        result.faults().any() ? ExactlyOnceCheck.of(ledger, output) : null,
        fleet,
        parallelism);
  }

  /**
   * Where the job's books disagree with what the broker holds: each book's {@code in} with the records on its input
   * topic (summed over the books of kinds that share a topic), their dead letters with the dead-letter topic. Books
   * of zeros beside input records mean the books were never filled: the job's metrics did not reach the demo's
   * reporter.
   *
   * @param books     the job's books; none (nothing to compare) after a restart or resume
   * @param recordsIn records on each input topic, by topic name
   */
  static List<String> metricBookProblems(List<JobMetrics.Book> books, Map<String, Long> recordsIn, long deadLetters,
      ReadableConfig conf) {
    long records = recordsIn.values().stream().mapToLong(Long::longValue).sum();
    if (books.isEmpty() || records == 0) {
      return List.of();
    }
    Optional<String> notReported = JobMetrics.notReported(books, records);
    if (notReported.isPresent()) {
      return List.of(notReported.get());
    }
    // A book is named after its input kind, as the input topic is (Ledger.metricName). Kinds that share a topic are
    // compared with it together: the broker's count does not tell them apart.
    Map<String, List<JobMetrics.Book>> booksByTopic = new LinkedHashMap<>();
    for (JobMetrics.Book book : books) {
      booksByTopic.computeIfAbsent(InputTopic.valueOf(book.input().toUpperCase(Locale.ROOT)).name(conf),
          topic -> new ArrayList<>()).add(book);
    }
    List<String> problems = new ArrayList<>();
    booksByTopic.forEach((topic, sharing) -> {
      long inBooks = sharing.stream().mapToLong(JobMetrics.Book::in).sum();
      long onTopic = recordsIn.getOrDefault(topic, 0L);
      if (inBooks != onTopic) {
        problems.add("the job's books count %,d %s in, the broker holds %,d on %s".formatted(inBooks,
            sharing.stream().map(JobMetrics.Book::input).collect(Collectors.joining(" and ")), onTopic, topic));
      }
    });
    JobMetrics.deadLettersDiffer(books, deadLetters).ifPresent(problems::add);
    return problems;
  }

  /**
   * Whether the run showed what it should: every input accounted for, the job's own books balanced and in
   * agreement with the broker, and after injected faults, the batches exactly as the oracle expects with every
   * injected failure done.
   */
  @JsonProperty("passed")
  public boolean passed() {
    return reconciled
        && metricBooks.stream().allMatch(JobMetrics.Book::holds)
        && metricBookProblems.isEmpty()
        && (exactlyOnce == null || exactlyOnce.passed() && restarts >= injectedFailures);
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("summary is not serializable", e);
    }
  }

  public void print(PrintWriter out) {
    out.println();
    out.printf("Strawless demo: %,d agents, %,d trajectories over %,d tasks (seed %d), job parallelism %d%n",
        fleet.agents(), fleet.trajectories(), fleet.tasks(), fleet.seed(), parallelism);
    out.println();
    out.println("Input topics (records counted on the broker; malformed ones as the fleet sent them)");
    recordsIn.forEach((topic, records) ->
        out.printf("  %-18s %,10d records  (%,d malformed)%n", topic, records, malformedSent.getOrDefault(topic, 0L)));
    out.println("Output, read committed as a trainer reads it");
    out.printf("  %-18s %,10d trajectories scored (%,d steps) in %,d batches%s%n",
        "batches", trajectoriesScored, scoredSteps, batches,
        scoredWithoutOutcome == 0 ? "" : String.format(", %,d of them without outcome", scoredWithoutOutcome));
    out.printf("  %-18s %,10d dead letters  %s%n", "dead letters", deadLetters, deadLettersByTopic);
    out.printf("  %-18s %,10d records (%,d steps)  %s%n", "unscored", unscored, unscoredSteps, unscoredByReason);
    out.println();
    out.println("Reconciliation: in = scored + dead-lettered + unscored");
    for (Reconciliation.Balance balance : reconciliation) {
      out.printf("  %-18s %,10d = %,d + %,d + %,d   %s%n", balance.topic(), balance.in(), balance.scored(),
          balance.deadLettered(), balance.unscored(), balance.holds() ? "ok" : "MISMATCH");
    }
    out.println(reconciled
        ? "PASS  every step and outcome is in a committed batch, the dead-letter topic or the unscored topic"
        : "FAIL  some steps or outcomes are unaccounted for (or counted twice)");
    out.println();
    printMetricBooks(out);
    printExactlyOnce(out);
    out.printf("Throughput  %,.0f steps/s  (%,d steps in %.1f s: first send until the job had processed and checkpointed all input)%n",
        stepsPerSecond, stepsIn, ingestSeconds);
    out.printf("Wall time   %.1f s  (broker and job start-up, fleet, drain, read-back)%n", wallSeconds);
    out.flush();
  }

  private void printMetricBooks(PrintWriter out) {
    if (metricBooks.isEmpty()) {
      out.printf("The job's ledger metrics are not shown: the job %s, and Flink counters start from 0 with each%n"
          + "attempt and job (they are not checkpointed). The committed topics above are the durable record.%n",
          restarts > 0 && savepointResume ? "restarted " + restarts + " times and resumed from a savepoint"
              : restarts > 0 ? "restarted " + restarts + " times" : "was resumed from a savepoint");
    } else {
      out.println("The job's own books (ledger.<kind>.<way> metrics, summed over operators and subtasks):");
      out.println("  in = batched + dead-lettered + unscored + dropped (identical duplicates, superseded revisions)");
      for (JobMetrics.Book book : metricBooks) {
        out.printf("  %-18s %,10d%s%n", book.input(), book.in(), book.sums());
      }
      metricBookProblems.forEach(problem -> out.println("FAIL  " + problem));
    }
    out.println();
  }

  private void printExactlyOnce(PrintWriter out) {
    if (exactlyOnce == null) {
      return;
    }
    out.printf("Exactly-once under faults: %d injected task failures (%d restarts)%s%n", injectedFailures, restarts,
        savepointResume ? "; stopped with a savepoint after %,d input records and resumed as a new job"
            .formatted(resumedAfter) : "");
    out.printf("  oracle (grpo from what the fleet sent): %,d scored steps expected%n", exactlyOnce.expectedSteps());
    out.printf("  lost %,d   duplicated %,d   mismatched advantages %,d   unexpected %,d%n", exactlyOnce.lostSteps(),
        exactlyOnce.duplicatedSteps(), exactlyOnce.mismatchedAdvantages(), exactlyOnce.unexpectedSteps());
    if (restarts < injectedFailures) {
      out.println("FAIL  fewer restarts than injected failures");
    } else {
      out.println(exactlyOnce.passed()
          ? "PASS  every expected step is in exactly one committed batch, with the oracle's advantage"
          : "FAIL  the committed batches differ from the oracle's");
    }
    out.println();
  }
}
