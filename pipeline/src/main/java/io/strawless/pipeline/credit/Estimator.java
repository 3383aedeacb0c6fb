package io.strawless.pipeline.credit;

/**
 * The estimators of {@code credit.estimator} (each described there). An estimator's name, its {@link #toString()},
 * is how the configuration, the batches' {@code estimator} field, the configuration fingerprint, metrics and logs
 * name it: the configuration reads it in any case, as it reads every enum setting.
 */
public enum Estimator {
    OUTCOME("outcome"),
    GRPO("grpo"),
    DR_GRPO("dr_grpo"),
    RLOO("rloo"),
    GAE("gae"),
    REINFORCE_PP("reinforce_pp"),
    REINFORCE_PP_BASELINE("reinforce_pp_baseline"),
    PROCESS("process"),
    GIGPO("gigpo");

    private final String value;

    Estimator(String value) {
        this.value = value;
    }

    /** Whether every trajectory needs its outcome: one without (NaN) cannot be scored. */
    public boolean needsOutcome() {
        return switch (this) {
            case OUTCOME, GRPO, DR_GRPO, RLOO, REINFORCE_PP_BASELINE, GIGPO -> true;
            case GAE, REINFORCE_PP, PROCESS -> false;
        };
    }

    /**
     * Whether credit.normalize=batch whitens the batch's trainable steps (gae, reinforce_pp, reinforce_pp_baseline and
     * process, as verl's masked_whiten and OpenRLHF do) rather than its trajectories (TRL's normalize_advantages).
     */
    public boolean whitensOverSteps() {
        return switch (this) {
            case GAE, REINFORCE_PP, REINFORCE_PP_BASELINE, PROCESS -> true;
            case OUTCOME, GRPO, DR_GRPO, RLOO, GIGPO -> false;
        };
    }

    /**
     * Whether the estimator turns verifier signals into per-step process rewards ({@link Credit#processRewards}, the
     * batch's process_reward): only {@code process} does.
     */
    public boolean hasProcessRewards() {
        return this == PROCESS;
    }

    @Override
    public String toString() {
        return value;
    }
}
