package io.strawless.ops.demo;

import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

/**
 * Exactly-once, checked step by step: the committed batches against an oracle that knows only what the
 * fleet sent. Every step of every trajectory whose outcome was sent must be in exactly one committed batch,
 * with the advantage the oracle computes.
 *
 * <p>The oracle is {@code grpo} with its default conventions, because its numbers do not depend on the
 * order in which the job happens to finish trajectories: a step's advantage is its trajectory's outcome
 * against the mean and standard deviation of the outcomes of its group (the trajectories of one sampling
 * of a task that had an outcome; a group missing a member is scored with those that came when it times
 * out). The {@code outcome} estimator's streaming per-task baseline, by contrast, depends on the order of
 * completion, and a restarted job legitimately finishes trajectories in another order (it re-reads three
 * topics at different speeds), so comparing it would report differences that are not errors. The oracle
 * shares no code with the job.
 *
 * <p>The oracle models the job with its default settings but for the credit ({@link #configureOracleCredit}):
 * {@link #requireModelled} refuses, before a run, every setting that would change which of the fleet's
 * trajectories reach a batch or how they are scored.
 *
 * @param expectedSteps        steps the oracle expects in the batches
 * @param lostSteps            expected steps in no committed batch
 * @param duplicatedSteps      extra copies of expected steps (a step in two batches counts once here)
 * @param mismatchedAdvantages step copies whose advantage differs from the oracle's by more than {@link #TOLERANCE}
 * @param unexpectedSteps      scored steps the oracle does not expect at all (e.g. of a trajectory without outcome)
 */
public record ExactlyOnceCheck(
        long expectedSteps, long lostSteps, long duplicatedSteps, long mismatchedAdvantages, long unexpectedSteps) {

    /** Kernels compute in double precision; the oracle sums in another order. */
    public static final double TOLERANCE = 1e-9;

    private static final String WAITS = "the oracle expects every trajectory whose outcome the fleet sent in a batch,"
            + " which the default waits allow for (a shorter wait can turn some away as late or timed out)";
    private static final String LIMITS = "the oracle expects every step of a trajectory with an outcome in a batch"
            + " (a lower limit can dead-letter some, and their trajectories then go unscored)";

    /** A setting the oracle assumes at its default, and why it cannot check a run with another value. */
    private record AssumedDefault(ConfigOption<?> option, String why) {
        /** The value the oracle assumes: the default, or unset (null) for an option without one. */
        Object assumed() {
            return option.hasDefaultValue() ? option.defaultValue() : null;
        }
    }

    /**
     * The job's settings the oracle assumes at their defaults. The quarantine's and the reliability model's are
     * not among them: the oracle reads which trajectories were suspects from the batches, whatever decided it.
     * Nor is {@code job.outcome-timeout-policy}: under grpo a trajectory without outcome is unscored either way.
     */
    private static final List<AssumedDefault> ASSUMED_DEFAULTS = List.of(
            new AssumedDefault(ReliabilityOptions.SUSPECT_POLICY,
                    "the oracle reads the suspects from the batches, where only FLAG keeps them"),
            new AssumedDefault(JobOptions.PARTIAL_GROUPS,
                    "the oracle scores a group that lost a member's outcome with the members that came"),
            new AssumedDefault(JobOptions.MAX_POLICY_LAG,
                    "the oracle expects no trajectory unscored as STALE"),
            new AssumedDefault(JobOptions.REQUIRED_VERIFIERS,
                    "the oracle expects a trajectory complete with its steps and outcome, whatever its verdicts"),
            new AssumedDefault(JobOptions.OUTCOME_TIMEOUT, WAITS),
            new AssumedDefault(JobOptions.INACTIVITY_TIMEOUT, WAITS),
            new AssumedDefault(JobOptions.GROUP_TIMEOUT, WAITS),
            new AssumedDefault(JobOptions.MAX_OUT_OF_ORDERNESS, WAITS),
            new AssumedDefault(JobOptions.SOURCE_IDLENESS, WAITS),
            new AssumedDefault(JobOptions.MAX_STEP_INDEX, LIMITS),
            new AssumedDefault(JobOptions.MAX_TOKENS_PER_STEP, LIMITS));

    public boolean passed() {
        return lostSteps == 0 && duplicatedSteps == 0 && mismatchedAdvantages == 0 && unexpectedSteps == 0;
    }

    /**
     * The credit settings the oracle knows: {@code grpo}, default conventions (any backend), but a group of one keeps
     * its raw score ({@code credit.singleton-group=raw}): the default scores it against its task's streaming baseline,
     * which depends on the order of completion, as the {@code outcome} estimator's does.
     */
    public static void configureOracleCredit(Configuration conf) {
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        conf.set(CreditOptions.SINGLETON_GROUP, CreditOptions.SingletonGroup.RAW);
    }

    /**
     * Refuses, before a run, the settings the oracle does not model: any credit setting but the backend (all give
     * the same numbers; the others would be replaced by {@link #configureOracleCredit}), and the
     * {@link #ASSUMED_DEFAULTS} at another value.
     *
     * @param given the settings given for the run, before {@link #configureOracleCredit}
     * @throws IllegalArgumentException naming the first such setting, why the oracle cannot check it, and the fix
     */
    public static void requireModelled(Configuration given) {
        Map<String, String> values = given.toMap();
        for (String key : given.keySet()) {
            if (key.startsWith("credit.") && !key.equals(CreditOptions.BACKEND.key())) {
                throw new IllegalArgumentException("-D " + key + "=" + values.get(key) + ": the drill scores with grpo"
                        + " and its default conventions, which its oracle knows; leave " + key + " out (of the credit"
                        + " settings only " + CreditOptions.BACKEND.key() + " may be given)");
            }
        }
        for (AssumedDefault setting : ASSUMED_DEFAULTS) {
            if (!Objects.equals(given.get(setting.option()), setting.assumed())) {
                String key = setting.option().key();
                throw new IllegalArgumentException("-D " + key + "=" + values.get(key) + ": " + setting.why()
                        + "; leave " + key + " out");
            }
        }
    }

    /**
     * Checks {@code output} against the oracle. The job must have run with settings {@link #requireModelled}
     * accepts and {@link #configureOracleCredit} completed.
     */
    public static ExactlyOnceCheck of(FleetLedger ledger, CreditOutput output) {
        // Which trajectories the quarantine suspected depends on what its reliability model had learnt when their
        // batch was scored, so on the order of processing: the oracle takes that from the batches' flags.
        Set<String> suspects = output.scoredTrajectories().filter(ScoredTrajectory::getSuspect)
                .map(ScoredTrajectory::getTrajectoryId).collect(Collectors.toSet());
        Map<String, double[]> expected = expectedAdvantages(ledger, suspects);
        long expectedSteps = expected.values().stream()
                .mapToLong(advantages -> advantages.length)
                .sum();

        Map<StepKey, Integer> copies = new HashMap<>();
        long mismatched = 0;
        long unexpected = 0;
        for (ScoredTrajectory trajectory : output.scoredTrajectories().toList()) {
            double[] advantages = expected.get(trajectory.getTrajectoryId());
            for (ScoredStep step : trajectory.getSteps()) {
                int index = step.getStepIndex();
                if (advantages == null || index < 0 || index >= advantages.length) {
                    unexpected++;
                    continue;
                }
                copies.merge(new StepKey(trajectory.getTrajectoryId(), index), 1, Integer::sum);
                if (!(Math.abs(step.getAdvantage() - advantages[index]) <= TOLERANCE)) {
                    mismatched++;
                }
            }
        }
        long duplicated = copies.values().stream().mapToLong(times -> times - 1).sum();
        return new ExactlyOnceCheck(expectedSteps, expectedSteps - copies.size(), duplicated, mismatched, unexpected);
    }

    private record StepKey(String trajectoryId, int stepIndex) {}

    /**
     * GRPO from the ledger: per group, outcomes' mean and sample standard deviation (n - 1); a trainable step
     * gets {@code (outcome - mean) / (std + 1e-6)}, a lone trajectory {@code outcome / (1 + 1e-6)} (verl's
     * convention: mean 0, std 1), a step that is not trainable 0. A group's {@code suspects}
     * (job.suspect-policy=FLAG) get their credit among the whole group, its other members among themselves.
     */
    static Map<String, double[]> expectedAdvantages(FleetLedger ledger, Set<String> suspects) {
        Map<String, List<SentTrajectory>> groups = new LinkedHashMap<>();
        for (SentTrajectory trajectory : ledger.trajectories().values()) {
            if (trajectory.outcome().isPresent()) {
                groups.computeIfAbsent(trajectory.groupId(), group -> new ArrayList<>())
                        .add(trajectory);
            }
        }
        Map<String, double[]> advantages = new HashMap<>();
        for (List<SentTrajectory> group : groups.values()) {
            List<SentTrajectory> unsuspected = group.stream()
                    .filter(member -> !suspects.contains(member.trajectoryId())).toList();
            for (SentTrajectory member : group) {
                double advantage = grpo(member, suspects.contains(member.trajectoryId()) ? group : unsuspected);
                double[] perStep = new double[member.steps()];
                for (int step = 0; step < perStep.length; step++) {
                    perStep[step] = member.trainable().get(step) ? advantage : 0;
                }
                advantages.put(member.trajectoryId(), perStep);
            }
        }
        return advantages;
    }

    /** The GRPO advantage of {@code member} among {@code group}. */
    private static double grpo(SentTrajectory member, List<SentTrajectory> group) {
        double epsilon = 1e-6;
        int n = group.size();
        double mean = 0;
        for (SentTrajectory other : group) {
            mean += other.outcome().getAsDouble() / n;
        }
        double squares = 0;
        for (SentTrajectory other : group) {
            double centred = other.outcome().getAsDouble() - mean;
            squares += centred * centred;
        }
        double outcome = member.outcome().getAsDouble();
        return n == 1 ? outcome / (1 + epsilon) : (outcome - mean) / (Math.sqrt(squares / (n - 1)) + epsilon);
    }
}
