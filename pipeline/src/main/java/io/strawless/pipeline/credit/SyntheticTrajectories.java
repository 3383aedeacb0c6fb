package io.strawless.pipeline.credit;

import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random but plausible micro-batches that exercise every estimator: groups, rewards, values, tool steps
 * (every fourth step is not trainable), truncations with bootstrap values, verifier scores and
 * observation keys shared across a group. Used to pick a backend by measurement, and by tests.
 */
public final class SyntheticTrajectories {

    private SyntheticTrajectories() {}

    public static List<Trajectory> generate(int trajectories, int stepsPerTrajectory, int groupSize, long seed) {
        Random random = new Random(seed);
        List<Trajectory> batch = new ArrayList<>(trajectories);
        for (int t = 0; t < trajectories; t++) {
            List<Step> steps = new ArrayList<>(stepsPerTrajectory);
            for (int s = 0; s < stepsPerTrajectory; s++) {
                steps.add(new Step(
                        s,
                        random.nextInt(4) == 0 ? random.nextDouble() - 0.5 : Double.NaN,
                        random.nextDouble(),
                        s % 4 != 3,
                        "s" + s + "-" + random.nextInt(3),
                        random.nextBoolean() ? Map.of("v1", random.nextDouble()) : Map.of()));
            }
            boolean truncated = random.nextInt(5) == 0;
            batch.add(new Trajectory(
                    "t" + t,
                    "g" + (t / groupSize),
                    "task" + (t / groupSize),
                    random.nextInt(2),
                    truncated ? TerminalKind.TRUNCATED : TerminalKind.TERMINATED,
                    truncated ? random.nextDouble() : Double.NaN,
                    random.nextDouble(),
                    steps));
        }
        return batch;
    }
}
