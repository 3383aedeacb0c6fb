package io.strawless.ops.evaluate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.strawless.ops.evaluate.Evaluation.VerifierEstimate;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.pipeline.credit.Estimator;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The evaluation of every estimator on one fleet, for people (a table) and for scripts (one JSON object).
 * The reliability and quarantine figures at the top level come from the {@code process} run (from the last
 * run when there was none): they do not depend on the estimator, and the process run is the one that uses them.
 * A reliability error is the worst among the batching buckets' final models (see {@link Evaluation.VerifierEstimate}),
 * and the quarantine's recall is over the reward hacks it could judge (see {@link Evaluation.QuarantineScore}).
 *
 * @param jobSettings the job's settings as key = value: those the figures depend on most, as resolved (e.g.
 *                    credit.gamma), then every other -D setting given; a value that may be a secret is hidden
 */
public record EvaluationReport(FleetSettings fleet, Map<String, String> jobSettings, List<Evaluation> runs) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The run whose reliability and quarantine figures the report leads with. */
    public Evaluation headline() {
        return runs.stream()
                .filter(r -> r.estimator() == Estimator.PROCESS)
                .findFirst()
                .orElse(runs.get(runs.size() - 1));
    }

    public void print(PrintWriter out) {
        out.printf(
                Locale.ROOT,
                "%nStrawless evaluate: %,d trajectories of %d-%d steps over %d tasks in groups of %d (seed %d),"
                        + " %.0f%% reward hacks, outcome noise %.2f%n",
                fleet.trajectories(),
                fleet.minSteps(),
                fleet.maxSteps(),
                fleet.tasks(),
                fleet.groupSize(),
                fleet.seed(),
                100 * fleet.rewardHackShare(),
                fleet.outcomeNoise());
        out.println("Verifiers (id:accuracy:bias:coverage:delay-ms): "
                + String.join(
                        ", ", fleet.verifiers().stream().map(Object::toString).toList()));
        out.println("Job: "
                + String.join(
                        ", ",
                        jobSettings.entrySet().stream()
                                .map(e -> e.getKey() + " " + e.getValue())
                                .toList()));
        out.println();
        out.println(
                "estimator        step AUC   policy steps   suspects: precision / recall   reliability error      run");
        for (Evaluation run : runs) {
            out.printf(
                    Locale.ROOT,
                    "%-14s %10s %14s %20s / %-6s %20s %8.1f s%n",
                    run.estimator(),
                    number(run.stepAuc()),
                    String.format(Locale.ROOT, "%,d", run.scoredSteps()),
                    number(run.quarantine().precision()),
                    number(run.quarantine().recall()),
                    number(run.reliabilityMaxError()),
                    run.duration().toMillis() / 1000.0);
        }
        Evaluation headline = headline();
        out.printf(
                Locale.ROOT,
                "%nVerifier reliability (%s run): what the job learnt online, without ground truth, vs the"
                        + " fleet's truth.%nEach batching bucket (one per parallel instance) learns from its own tasks:"
                        + " the final model of each of the %d is graded; learnt and error are the bucket's furthest"
                        + " from the truth.%n",
                headline.estimator(),
                headline.buckets());
        out.println("  verifier            true   learnt    error   learnt by bucket");
        headline.verifiers()
                .forEach((verifier, estimate) -> out.printf(
                        Locale.ROOT,
                        "  %-16s %7s %8s %8s   %s%n",
                        verifier,
                        number(estimate.truth()),
                        number(estimate.learnt()),
                        number(estimate.error()),
                        String.join(" ", estimate.learntByBucket().stream()
                                .map(EvaluationReport::number)
                                .toList())));
        Evaluation.QuarantineScore quarantine = headline.quarantine();
        out.printf(
                Locale.ROOT,
                "%nReward-hacking quarantine (%s run): caught %d of the %d reward hacks it could judge (those with"
                        + " an outcome and a verdict; %d without are not counted), %d false alarms (precision %s,"
                        + " recall %s)%n",
                headline.estimator(),
                quarantine.caught(),
                quarantine.hacks(),
                quarantine.unjudgedHacks(),
                quarantine.falseAlarms(),
                number(quarantine.precision()),
                number(quarantine.recall()));
        out.flush();
    }

    /**
     * {@code {"estimators": {"process": {"config_fingerprint": ..., "step_auc": ...}, ...},
     * "reliability_max_error": ..., "quarantine_precision": ..., "quarantine_recall": ..., "verifiers": {"checker":
     * {"true": ..., "learnt": ..., "error": ..., "learnt_by_bucket": [...]}, ...}, "fleet": {...}, "job": {...}}};
     * a figure that cannot be computed is null.
     */
    public String toJson() {
        Map<String, Object> estimators = new LinkedHashMap<>();
        for (Evaluation run : runs) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("config_fingerprint", run.configFingerprint());
            entry.put("step_auc", finite(run.stepAuc()));
            entry.put("scored_trajectories", run.scoredTrajectories());
            entry.put("policy_steps", run.scoredSteps());
            entry.put("reliability_buckets", run.buckets());
            entry.put("reliability_max_error", finite(run.reliabilityMaxError()));
            entry.put("quarantine_precision", finite(run.quarantine().precision()));
            entry.put("quarantine_recall", finite(run.quarantine().recall()));
            entry.put("seconds", run.duration().toMillis() / 1000.0);
            estimators.put(run.estimator().toString(), entry);
        }
        Evaluation headline = headline();
        Map<String, Object> verifiers = new LinkedHashMap<>();
        headline.verifiers().forEach((verifier, estimate) -> verifiers.put(verifier, verifier(estimate)));
        Map<String, Object> quarantine = new LinkedHashMap<>();
        quarantine.put("caught", headline.quarantine().caught());
        quarantine.put("false_alarms", headline.quarantine().falseAlarms());
        quarantine.put("hacks", headline.quarantine().hacks());
        quarantine.put("unjudged_hacks", headline.quarantine().unjudgedHacks());

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("estimators", estimators);
        json.put("reliability_max_error", finite(headline.reliabilityMaxError()));
        json.put("quarantine_precision", finite(headline.quarantine().precision()));
        json.put("quarantine_recall", finite(headline.quarantine().recall()));
        json.put("headline_run", headline.estimator().toString());
        json.put("reliability_buckets", headline.buckets());
        json.put("verifiers", verifiers);
        json.put("quarantine", quarantine);
        json.put("fleet", fleetJson());
        json.put("job", jobSettings);
        try {
            return JSON.writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of numbers and strings always serialize", e);
        }
    }

    private Map<String, Object> fleetJson() {
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("trajectories", fleet.trajectories());
        settings.put("agents", fleet.agents());
        settings.put("tasks", fleet.tasks());
        settings.put("group_size", fleet.groupSize());
        settings.put("min_steps", fleet.minSteps());
        settings.put("max_steps", fleet.maxSteps());
        settings.put("verdict_share", fleet.verdictShare());
        settings.put("missing_outcome_share", fleet.missingOutcomeShare());
        settings.put("outcome_noise", fleet.outcomeNoise());
        settings.put("reward_hack_share", fleet.rewardHackShare());
        settings.put(
                "verifiers", fleet.verifiers().stream().map(Object::toString).toList());
        settings.put("seed", fleet.seed());
        return settings;
    }

    private static Map<String, Object> verifier(VerifierEstimate estimate) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("true", finite(estimate.truth()));
        entry.put("learnt", finite(estimate.learnt()));
        entry.put("error", finite(estimate.error()));
        entry.put("learnt_by_bucket", estimate.learntByBucket().stream().map(EvaluationReport::finite).toList());
        return entry;
    }

    private static Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }

    private static String number(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.3f", value) : "n/a";
    }
}
