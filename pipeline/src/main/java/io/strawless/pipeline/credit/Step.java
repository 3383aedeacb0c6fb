package io.strawless.pipeline.credit;

import java.util.Map;

/**
 * One step (turn) of a trajectory, as the credit estimators see it. NaN marks an absent number.
 *
 * @param index position in the trajectory; steps are ordered by it
 * @param reward immediate reward of the step (NaN: none, counts as 0)
 * @param value the critic's estimate V(s) before the step (NaN: none; {@code gae} needs it on trainable steps)
 * @param trainable false for steps the policy did not produce (tool output): they get no credit
 * @param observationKey identifies the state the step acted in; GiGPO groups steps that share it (null: unique)
 * @param verifierScores score of each verifier that judged this step (null or empty: none)
 */
public record Step(int index, double reward, double value, boolean trainable, String observationKey,
                   Map<String, Double> verifierScores) {

    public Step {
        if (verifierScores == null) {
            verifierScores = Map.of();
        }
    }
}
