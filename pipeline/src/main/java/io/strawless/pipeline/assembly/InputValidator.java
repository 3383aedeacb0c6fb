package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.StepFields;
import io.strawless.pipeline.EventTimes;
import io.strawless.pipeline.JobOptions;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.io.Serializable;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The checks a decoded input must pass before it may touch any state: each rule has a name (it
 * becomes the dead letter's {@code error_class}) and a message that says what was wrong.
 */
public final class InputValidator implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * Most characters an id may have: trajectory, agent, task, group and verifier ids and observation keys. Ids are
     * Kafka keys and are repeated in every output; the bound keeps any one record's size predictable (a training
     * batch reserves room for {@value #MAX_ID_LENGTH}-character verifier ids, see {@code ScoreAndBatch}).
     */
    public static final int MAX_ID_LENGTH = 256;

    /**
     * Most characters a step's payload_ref may have: it names where the payload is (an object-store key), never holds
     * it, and like an id it is repeated in the outputs, so the bound keeps a record's size predictable.
     */
    public static final int MAX_PAYLOAD_REF_LENGTH = 2048;

    /** Names of the rules, as they appear in dead letters and metrics. */
    public enum Rule {
        MISSING_ID,
        OVERSIZED_ID,
        INVALID_STEP_INDEX,
        INVALID_GROUP_SIZE,
        INVALID_POLICY_VERSION,
        NON_FINITE_NUMBER,
        SCORE_OUT_OF_RANGE,
        MISSING_BOOTSTRAP_VALUE,
        FUTURE_EVENT_TIME,
        OVERSIZED_PAYLOAD,
        STEP_AFTER_TERMINAL,
        CONFLICTING_DUPLICATE,
        CONFLICTING_TRAJECTORY_FIELDS,
        TOO_MANY_VERDICTS
    }

    /** A broken rule and what broke it. */
    public record Violation(Rule rule, String message) {}

    private final int maxStepIndex;
    private final long maxFutureMillis;
    private final int maxTokens;

    public InputValidator(ReadableConfig conf) {
        this.maxStepIndex = conf.get(JobOptions.MAX_STEP_INDEX);
        this.maxFutureMillis = conf.get(JobOptions.MAX_FUTURE_EVENT_TIME).toMillis();
        this.maxTokens = conf.get(JobOptions.MAX_TOKENS_PER_STEP);
    }

    /** Returns the first rule the input breaks, or null when it is valid. */
    public Violation check(InputRecord input, long nowMillis) {
        return switch (input.kind()) {
            case STEP -> checkStep(input.stepFields(), nowMillis);
            case OUTCOME -> checkOutcome(input.outcome, nowMillis);
            case VERDICT -> checkVerdict(input.verdict, nowMillis);
            case DEAD_LETTER -> throw new IllegalArgumentException("dead letters are not validated");
        };
    }

    /** Reads the fields the source read in place, or took from the decoded step: the same rules for both. */
    private Violation checkStep(StepFields s, long now) {
        if (s.idMissing()) {
            return new Violation(Rule.MISSING_ID, "step needs trajectory_id, task_id and agent_id");
        }
        if (s.longestId() > MAX_ID_LENGTH) {
            return new Violation(Rule.OVERSIZED_ID, "an id (trajectory_id, agent_id, task_id, group_id or"
                    + " observation_key) has " + s.longestId() + " characters, more than " + MAX_ID_LENGTH);
        }
        if (s.stepIndex() < 0 || s.stepIndex() > maxStepIndex) {
            return new Violation(Rule.INVALID_STEP_INDEX,
                    "step_index " + s.stepIndex() + " outside [0, " + maxStepIndex + "] (job.max-step-index)");
        }
        if (s.groupSize() != null && s.groupSize() < 1) {
            // Grouping would silently take it for a size not known and wait for the group's timeout.
            return new Violation(Rule.INVALID_GROUP_SIZE, "group_size " + s.groupSize() + " is less than 1: it is the"
                    + " number of trajectories the group waits for; leave it null when that is not known (the group"
                    + " then closes after job.group-timeout)");
        }
        if (s.policyVersion() < 0) {
            // Versions count up from 0 (the field's default); job.max-policy-lag subtracts them, and a batch reports
            // their range to the trainer, which reads a negative one as nothing it ever published.
            return new Violation(Rule.INVALID_POLICY_VERSION, "policy_version " + s.policyVersion()
                    + " is negative: send the version of the policy that produced the step, 0 or more");
        }
        Violation number = finite("reward", s.reward());
        if (number == null) number = finite("value", s.value());
        if (number == null) number = finite("logprob", s.logprob());
        if (number == null) number = finite("bootstrap_value", s.bootstrapValue());
        if (number != null) {
            return number;
        }
        if (s.terminal() == TerminalKind.TRUNCATED && s.bootstrapValue() == null) {
            return new Violation(Rule.MISSING_BOOTSTRAP_VALUE, "a TRUNCATED step needs bootstrap_value");
        }
        if (s.tokenCount() > maxTokens) {
            return new Violation(Rule.OVERSIZED_PAYLOAD, s.tokenCount()
                    + " token ids inline, more than " + maxTokens + " (job.max-tokens-per-step): use payload_ref");
        }
        if (s.payloadRefLength() > MAX_PAYLOAD_REF_LENGTH) {
            return new Violation(Rule.OVERSIZED_PAYLOAD, "payload_ref longer than " + MAX_PAYLOAD_REF_LENGTH + " characters");
        }
        return future(s.eventTime(), now);
    }

    private Violation checkOutcome(OutcomeEvent o, long now) {
        if (blank(o.getTrajectoryId())) {
            return new Violation(Rule.MISSING_ID, "outcome needs trajectory_id");
        }
        if (o.getTrajectoryId().length() > MAX_ID_LENGTH) {
            return oversizedId("trajectory_id", o.getTrajectoryId());
        }
        if (o.getSource().length() > MAX_ID_LENGTH) {
            // Kept with the trajectory's progress, written again with every input, and in its marker after.
            return oversizedId("source", o.getSource());
        }
        Violation number = finite("reward", o.getReward());
        return number != null ? number : future(o.getEventTime().toEpochMilli(), now);
    }

    private Violation checkVerdict(VerifierSignal v, long now) {
        if (blank(v.getTrajectoryId()) || blank(v.getVerifierId())) {
            return new Violation(Rule.MISSING_ID, "verdict needs trajectory_id and verifier_id");
        }
        if (v.getTrajectoryId().length() > MAX_ID_LENGTH) {
            return oversizedId("trajectory_id", v.getTrajectoryId());
        }
        if (v.getVerifierId().length() > MAX_ID_LENGTH) {
            return oversizedId("verifier_id", v.getVerifierId());
        }
        if (v.getStepIndex() != null && (v.getStepIndex() < 0 || v.getStepIndex() > maxStepIndex)) {
            return new Violation(Rule.INVALID_STEP_INDEX,
                    "step_index " + v.getStepIndex() + " outside [0, " + maxStepIndex + "] (job.max-step-index)");
        }
        Violation number = finite("score", v.getScore());
        if (number == null) number = finite("confidence", v.getConfidence());
        if (number == null) number = unitInterval(v.getScore());
        return number != null ? number : future(v.getEventTime().toEpochMilli(), now);
    }

    /**
     * A verifier's score is in [0, 1], 1 for a good step: the reliability model reads 0.5 and above as "good" and the
     * process estimator takes the score as a step's reward, so a score on another scale (0 to 10, or -1 to 1) would
     * be read wrong without a word. Its confidence is not checked so: the job does not use it, and a verifier that
     * reports it in percent must not lose its scores for it.
     */
    private static Violation unitInterval(double score) {
        if (score < 0 || score > 1) {
            return new Violation(Rule.SCORE_OUT_OF_RANGE, "score is " + score + ", outside [0, 1]: send verifier"
                    + " scores on that scale, 1 for a good step");
        }
        return null;
    }

    /** The latest event time accepted at {@code now}: {@code job.max-future-event-time} ahead, at most the end of time. */
    public static long latestAccepted(long now, long maxFutureMillis) {
        return EventTimes.plus(now, maxFutureMillis);
    }

    private Violation future(long eventTime, long now) {
        if (eventTime > latestAccepted(now, maxFutureMillis)) {
            return new Violation(Rule.FUTURE_EVENT_TIME, "event_time " + eventTime + " is more than "
                    + maxFutureMillis + " ms ahead of the clock (job.max-future-event-time)");
        }
        return null;
    }

    private static Violation oversizedId(String field, String id) {
        return new Violation(Rule.OVERSIZED_ID, field + " has " + id.length() + " characters, more than " + MAX_ID_LENGTH);
    }

    private static Violation finite(String field, Double value) {
        if (value != null && !Double.isFinite(value)) {
            return new Violation(Rule.NON_FINITE_NUMBER, field + " is " + value);
        }
        return null;
    }

    private static boolean blank(String id) {
        return id == null || id.isBlank();
    }
}
