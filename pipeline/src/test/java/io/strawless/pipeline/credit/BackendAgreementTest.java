package io.strawless.pipeline.credit;

import static io.strawless.pipeline.credit.Scoring.assertClose;
import static io.strawless.pipeline.credit.Scoring.assertSameProcessRewards;
import static io.strawless.pipeline.credit.Scoring.score;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every estimator, with each family of conventions, gives the same numbers on the Java thread pool and
 * on OpenCL as in plain Java, within float tolerance, on awkward random micro-batches and on one large
 * enough to whiten in several chunks.
 */
class BackendAgreementTest {

    static Stream<Arguments> variants() {
        List<String[]> variants = new ArrayList<>();
        for (String estimator : RandomBatches.ESTIMATORS) {
            variants.add(new String[] {estimator});
        }
        variants.add(new String[] {"outcome", "credit.normalize", "batch"});
        variants.add(new String[] {"grpo", "credit.preset", "trl", "credit.scale-rewards", "batch"});
        variants.add(new String[] {"grpo", "credit.preset", "verl", "credit.epsilon-mode", "clamp-var-add-std"});
        variants.add(new String[] {"rloo", "credit.preset", "trl", "credit.normalize", "batch"});
        variants.add(new String[] {"gae", "credit.preset", "verl", "credit.gamma", "0.99", "credit.lambda", "0.95"});
        variants.add(new String[] {"gae", "credit.preset", "openrlhf", "credit.gamma", "0.99", "credit.lambda", "0.95"});
        variants.add(new String[] {"reinforce_pp", "credit.preset", "openrlhf", "credit.gamma", "0.9"});
        variants.add(new String[] {"reinforce_pp", "credit.preset", "verl", "credit.gamma", "0.9"}); // reset
        variants.add(new String[] {"reinforce_pp_baseline", "credit.preset", "verl"});
        variants.add(new String[] {"reinforce_pp_baseline", "credit.preset", "openrlhf"});
        variants.add(new String[] {"process", "credit.preset", "verl"});
        variants.add(new String[] {"process", "credit.process-baseline", "none", "credit.gamma", "0.95",
                "credit.verifier-weights", "v1:2,v2:0.5"});
        variants.add(new String[] {"gigpo", "credit.preset", "verl", "credit.gamma", "0.95"});
        variants.add(new String[] {"gigpo", "credit.gigpo-episode-stats", "step", "credit.non-trainable-steps", "zero"});
        return Stream.of("jtp", "opencl").flatMap(backend -> variants.stream().map(v -> Arguments.of(backend, v)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("variants")
    void backendMatchesPlainJava(String backend, String[] variant) {
        String estimator = variant[0];
        String[] options = java.util.Arrays.copyOfRange(variant, 1, variant.length);
        List<List<Trajectory>> batches = new ArrayList<>();
        for (long seed = 1; seed <= 5; seed++) {
            batches.add(RandomBatches.batch(seed));
        }
        batches.add(SyntheticTrajectories.generate(600, 12, 6, 7));
        batches.add(List.of());

        for (List<Trajectory> batch : batches) {
            List<Credit> expected = score("java", batch, estimator, options);
            List<Credit> actual = score(backend, batch, estimator, options);
            for (int t = 0; t < expected.size(); t++) {
                String what = backend + " " + estimator + " trajectory " + expected.get(t).trajectoryId();
                assertClose(expected.get(t).advantages(), actual.get(t).advantages(), what + " advantages");
                assertClose(expected.get(t).returns(), actual.get(t).returns(), what + " returns");
                assertSameProcessRewards(expected.get(t).processRewards(), actual.get(t).processRewards(),
                        what + " process rewards");
            }
        }
    }
}
