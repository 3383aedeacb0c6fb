package io.strawless.pipeline.credit;

import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random micro-batches with the awkward parts the estimators must survive: groups of one, trajectories
 * without steps or without trainable steps, tool steps anywhere, absent rewards, truncations, steps
 * with several verifiers or none, shared and missing observation keys.
 */
final class RandomBatches {

    /** Every estimator's name, as a user sets it. */
    static final List<String> ESTIMATORS = Arrays.stream(Estimator.values()).map(String::valueOf).toList();

    private RandomBatches() {}

    static List<Trajectory> batch(long seed) {
        Random random = new Random(seed);
        List<Trajectory> batch = new ArrayList<>();
        int groups = 1 + random.nextInt(4);
        for (int g = 0; g < groups; g++) {
            int size = 1 + random.nextInt(6);
            String groupId = random.nextInt(8) == 0 ? null : "g" + g;
            for (int i = 0; i < size; i++) {
                batch.add(trajectory(random, "t" + g + "-" + i, groupId));
            }
        }
        return batch;
    }

    /** A group of {@code size} trajectories that all share group id "g", each with a trainable step. */
    static List<Trajectory> group(long seed, int size) {
        Random random = new Random(seed);
        List<Trajectory> group = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            Trajectory t = trajectory(random, "t" + i, "g");
            if (t.steps().stream().noneMatch(Step::trainable)) {
                List<Step> steps = new ArrayList<>(t.steps());
                steps.add(new Step(100, Double.NaN, 0.5, true, null, Map.of()));
                t = new Trajectory(t.id(), t.groupId(), t.taskId(), t.outcome(), t.terminal(), t.bootstrapValue(),
                        t.baseline(), steps);
            }
            group.add(t);
        }
        return group;
    }

    private static Trajectory trajectory(Random random, String id, String groupId) {
        int steps = random.nextInt(9);
        List<Step> stepList = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            Map<String, Double> verdicts = new HashMap<>();
            if (random.nextBoolean()) {
                verdicts.put("v1", random.nextDouble());
            }
            if (random.nextInt(4) == 0) {
                verdicts.put("v2", random.nextDouble());
            }
            String[] keys = {"a", "b", "c", null};
            stepList.add(new Step(2 * s + random.nextInt(2),
                    random.nextBoolean() ? random.nextDouble() * 2 - 1 : Double.NaN,
                    random.nextDouble(),
                    random.nextInt(4) != 0,
                    keys[random.nextInt(keys.length)],
                    verdicts));
        }
        boolean truncated = random.nextInt(5) == 0;
        double outcome = random.nextBoolean() ? random.nextInt(2) : random.nextDouble();
        return new Trajectory(id, groupId, "task", outcome,
                truncated ? TerminalKind.TRUNCATED : TerminalKind.TERMINATED,
                truncated ? random.nextDouble() : Double.NaN,
                random.nextBoolean() ? random.nextDouble() : Double.NaN,
                stepList);
    }
}
