package io.strawless.pipeline.credit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.strawless.pipeline.kernels.KernelExecutor;
import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Assumptions;

/** Test helpers: build trajectories, score them on a named backend, compare with float tolerance. */
final class Scoring {

    static final double TOLERANCE = 1e-5;
    static final boolean OPENCL_PRESENT = KernelExecutor.findOpenClDevice().isPresent();

    private Scoring() {}

    /** The backends every numeric test runs on. */
    static Stream<String> backends() {
        return Stream.of("java", "jtp", "opencl");
    }

    static void assumeBackendAvailable(String backend) {
        if (backend.equals("opencl")) {
            Assumptions.assumeTrue(OPENCL_PRESENT, "no OpenCL runtime on this machine: "
                    + "apt-get install -y pocl-opencl-icd ocl-icd-libopencl1 clinfo (ops/bin/install-opencl.sh)");
        }
    }

    static CreditConfig config(String backend, String estimator, String... keyValues) {
        Map<String, String> options = new HashMap<>();
        options.put("credit.estimator", estimator);
        options.put("credit.backend", backend);
        for (int i = 0; i < keyValues.length; i += 2) {
            options.put(keyValues[i], keyValues[i + 1]);
        }
        return CreditConfig.from(Configuration.fromMap(options));
    }

    /**
     * Scores {@code batch} on {@code backend}; on "opencl" also checks that no kernel fell back from it,
     * so a passing test proves the numbers came from the OpenCL device.
     */
    static List<Credit> score(String backend, List<Trajectory> batch, String estimator, String... keyValues) {
        assumeBackendAvailable(backend);
        try (CreditScorer scorer = new CreditScorer(config(backend, estimator, keyValues))) {
            List<Credit> credits = scorer.score(batch);
            assertEquals(backend, scorer.backend(), "backend in use");
            assertEquals(0, scorer.fallbacks(), "fallbacks from OpenCL");
            return credits;
        }
    }

    static Trajectory trajectory(String id, String group, double outcome, double[] rewards, double[] values,
                                 boolean[] trainable) {
        return trajectory(id, group, outcome, TerminalKind.TERMINATED, Double.NaN, rewards, values, trainable);
    }

    static Trajectory trajectory(String id, String group, double outcome, TerminalKind terminal, double bootstrap,
                                 double[] rewards, double[] values, boolean[] trainable) {
        List<Step> steps = new ArrayList<>();
        for (int s = 0; s < rewards.length; s++) {
            steps.add(new Step(s, rewards[s], values == null ? Double.NaN : values[s], trainable[s], null, Map.of()));
        }
        return new Trajectory(id, group, "task", outcome, terminal, bootstrap, Double.NaN, steps);
    }

    /** One trajectory per outcome, all in group "g", each with two trainable steps and a tool step between. */
    static List<Trajectory> outcomeGroup(double... outcomes) {
        List<Trajectory> batch = new ArrayList<>();
        for (int i = 0; i < outcomes.length; i++) {
            batch.add(trajectory("t" + i, "g", outcomes[i], new double[3], null, new boolean[] {true, false, true}));
        }
        return batch;
    }

    static boolean[] trainable(int... mask) {
        boolean[] trainable = new boolean[mask.length];
        for (int i = 0; i < mask.length; i++) {
            trainable[i] = mask[i] == 1;
        }
        return trainable;
    }

    static boolean[] allTrainable(int steps) {
        boolean[] trainable = new boolean[steps];
        java.util.Arrays.fill(trainable, true);
        return trainable;
    }

    /** |actual - expected| <= tolerance (absolute, as the golden file asks), element by element. */
    static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (!close(expected[i], actual[i])) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]
                        + "\n  expected " + java.util.Arrays.toString(expected)
                        + "\n  actual   " + java.util.Arrays.toString(actual));
            }
        }
    }

    /** Both without process rewards, or with them on the same steps (NaN: none) and close there. */
    static void assertSameProcessRewards(double[] expected, double[] actual, String what) {
        if (expected == null || actual == null) {
            assertEquals(expected == null, actual == null, what + ": process rewards or none");
            return;
        }
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            boolean same = Double.isNaN(expected[i]) ? Double.isNaN(actual[i]) : close(expected[i], actual[i]);
            if (!same) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]
                        + "\n  expected " + java.util.Arrays.toString(expected)
                        + "\n  actual   " + java.util.Arrays.toString(actual));
            }
        }
    }

    static boolean close(double expected, double actual) {
        return Math.abs(actual - expected) <= TOLERANCE;
    }

    /** The per-trajectory advantage of outcome-level credit: the advantage of each trajectory's first step. */
    static double[] firstStepAdvantages(List<Credit> credits) {
        return credits.stream().mapToDouble(c -> c.advantages()[0]).toArray();
    }
}
