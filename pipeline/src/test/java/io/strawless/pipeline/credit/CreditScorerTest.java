package io.strawless.pipeline.credit;

import static io.strawless.pipeline.credit.Scoring.assertClose;
import static io.strawless.pipeline.credit.Scoring.config;
import static io.strawless.pipeline.credit.Scoring.score;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import io.strawless.pipeline.kernels.KernelExecutor;
import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class CreditScorerTest {

    @Test
    void openClBackendScoresOnTheOpenClDevice() {
        Scoring.assumeBackendAvailable("opencl");
        try (CreditScorer scorer = new CreditScorer(config("opencl", "gae"))) {
            scorer.score(SyntheticTrajectories.generate(100, 10, 5, 1));

            assertEquals("opencl", scorer.backend());
            assertEquals(0, scorer.fallbacks());
            assertTrue(scorer.device().startsWith("opencl: "), scorer.device());
        }
    }

    @Test
    void anOpenClFailureAtRunTimeFallsBackToJavaOnceAndKeepsScoring() {
        Scoring.assumeBackendAvailable("opencl");
        OpenCLDevice real = KernelExecutor.findOpenClDevice().orElseThrow();
        OpenCLDevice refused = new OpenCLDevice(real.getOpenCLPlatform(), 12345L, Device.TYPE.CPU);
        refused.setMaxWorkGroupSize(64);
        List<Trajectory> batch = SyntheticTrajectories.generate(50, 8, 5, 2);

        try (CreditScorer scorer = new CreditScorer(config("opencl", "grpo"), KernelExecutor.openCl(refused))) {
            List<Credit> first = scorer.score(batch);
            List<Credit> second = scorer.score(batch);

            assertEquals("java", scorer.backend());
            assertEquals(1, scorer.fallbacks());
            List<Credit> expected = score("java", batch, "grpo");
            for (int t = 0; t < batch.size(); t++) {
                assertClose(expected.get(t).advantages(), first.get(t).advantages(), "first micro-batch");
                assertClose(expected.get(t).advantages(), second.get(t).advantages(), "second micro-batch");
            }
        }
    }

    /**
     * {@code auto}'s pick is cached per JVM: after the picked OpenCL device fails at run time, later scorers of
     * the same settings (a restarted job, the other subtasks, another job's micro-batch size) score with java rather
     * than fall back again. Other settings keep their pick.
     */
    @Test
    void anOpenClFailureAtRunTimeTurnsAutosOpenClPickIntoJavaAtEverySize() {
        Scoring.assumeBackendAvailable("opencl");
        OpenCLDevice real = KernelExecutor.findOpenClDevice().orElseThrow();
        OpenCLDevice refused = new OpenCLDevice(real.getOpenCLPlatform(), 12345L, Device.TYPE.CPU);
        refused.setMaxWorkGroupSize(64);
        List<Trajectory> batch = SyntheticTrajectories.generate(50, 8, 5, 2);
        CreditConfig auto = config("auto", "rloo", "credit.gamma", "0.93");
        CreditConfig other = config("auto", "rloo", "credit.gamma", "0.94");
        Map<String, KernelExecutor.Backend> picks = CreditScorer.autoPicks();
        String autoKey = CreditScorer.autoKey(auto, CreditScorer.DEFAULT_MICRO_BATCH);
        String autoKeyOfAnotherSize = CreditScorer.autoKey(auto, 4096); // another job of the JVM, larger batches
        String otherKey = CreditScorer.autoKey(other, CreditScorer.DEFAULT_MICRO_BATCH);
        // As if the probes had picked the device that then fails.
        picks.put(autoKey, KernelExecutor.Backend.OPENCL);
        picks.put(autoKeyOfAnotherSize, KernelExecutor.Backend.OPENCL);
        picks.put(otherKey, KernelExecutor.Backend.OPENCL);
        try {
            try (CreditScorer failing = new CreditScorer(auto, KernelExecutor.openCl(refused))) {
                failing.score(batch);
                assertEquals(1, failing.fallbacks());
            }
            for (int size : new int[] {CreditScorer.DEFAULT_MICRO_BATCH, 4096, 100}) {
                try (CreditScorer next = new CreditScorer(auto, size)) {
                    next.score(batch);
                    assertEquals("java", next.backend(), "micro-batches of " + size);
                    assertEquals(1, next.fallbacks(), "a scorer after the failure (a restarted task) reports it too");
                }
            }
            try (CreditScorer untouched = new CreditScorer(other)) {
                assertEquals("opencl", untouched.backend(), "other settings keep their pick");
            }
        } finally {
            picks.remove(autoKey);
            picks.remove(autoKeyOfAnotherSize);
            picks.remove(otherKey);
            picks.remove(CreditScorer.autoKey(auto, 100));
            CreditScorer.openClFailures().remove(auto.kernelsKey());
        }
    }

    /** Parallel operator subtasks share a JVM: each has its own scorer, and OpenCL serves them side by side. */
    @Test
    void scorersOnSeveralThreadsShareTheOpenClDevice() throws Exception {
        Scoring.assumeBackendAvailable("opencl");
        List<Trajectory> batch = SyntheticTrajectories.generate(200, 10, 5, 9);
        List<Credit> expected = score("java", batch, "gigpo", "credit.preset", "verl");
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<List<Credit>>> results = new ArrayList<>();
            for (int thread = 0; thread < 3; thread++) {
                results.add(threads.submit(() -> {
                    try (CreditScorer scorer = new CreditScorer(config("opencl", "gigpo", "credit.preset", "verl"))) {
                        List<Credit> last = null;
                        for (int round = 0; round < 10; round++) {
                            last = scorer.score(batch);
                        }
                        assertEquals("opencl", scorer.backend());
                        return last;
                    }
                }));
            }
            for (java.util.concurrent.Future<List<Credit>> result : results) {
                List<Credit> actual = result.get();
                for (int t = 0; t < batch.size(); t++) {
                    assertClose(expected.get(t).advantages(), actual.get(t).advantages(), "thread result");
                }
            }
        } finally {
            threads.shutdown();
        }
    }

    @Test
    void openClWithoutAnOpenClRuntimeScoresWithJava() {
        // A machine without an OpenCL runtime, whether or not this one has one.
        try (CreditScorer scorer = new CreditScorer(config("opencl", "gae"), CreditScorer.DEFAULT_MICRO_BATCH, Optional::empty)) {
            scorer.score(SyntheticTrajectories.generate(10, 4, 2, 1));

            assertEquals("java", scorer.backend());
            assertEquals(1, scorer.fallbacks());
        }
    }

    @Test
    void autoPicksAnAvailableBackendByMeasurementOnTheScorersMicroBatchSize() {
        List<Trajectory> batch = SyntheticTrajectories.generate(200, 10, 4, 3);
        CreditConfig auto = config("auto", "gae", "credit.preset", "verl");
        try (CreditScorer scorer = new CreditScorer(auto, 200)) {
            List<Credit> credits = scorer.score(batch);

            assertTrue(List.of("opencl", "java").contains(scorer.backend()), scorer.backend());
            assertEquals(scorer.backend(), CreditScorer.autoPicks().get(CreditScorer.autoKey(auto, 200)).toString());
            assertEquals(0, scorer.fallbacks());
            List<Credit> expected = score("java", batch, "gae", "credit.preset", "verl");
            for (int t = 0; t < batch.size(); t++) {
                assertClose(expected.get(t).advantages(), credits.get(t).advantages(), "auto vs java");
            }
        }
    }

    /**
     * auto charges a backend for every host core it keeps busy: in a job the other subtasks need them. PoCL on the
     * CPU that finishes a batch faster than java, but by less than the cores it spreads over, costs more than java; a
     * GPU that finishes it faster costs less.
     */
    @Test
    void autoChargesABackendForEveryHostCoreItKeepsBusy() {
        KernelExecutor java = KernelExecutor.java();
        KernelExecutor pocl = KernelExecutor.openCl(device(Device.TYPE.CPU, 2));
        KernelExecutor gpu = KernelExecutor.openCl(device(Device.TYPE.GPU, 132));
        KernelExecutor jtp = KernelExecutor.javaThreadPool();

        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(1, java.hostCores());
        assertEquals(Math.min(2, cores), pocl.hostCores());
        // PoCL counts the machine's cores; a container's CPU limit caps them, as it caps availableProcessors.
        assertEquals(cores, KernelExecutor.openCl(device(Device.TYPE.CPU, cores * 32)).hostCores());
        assertEquals(1, gpu.hostCores());
        assertEquals(Runtime.getRuntime().availableProcessors(), jtp.hostCores());

        assertEquals(java, CreditScorer.cheapest(List.of(
                new CreditScorer.ProbeTime(pocl, 150_000 / pocl.hostCores() + 1), new CreditScorer.ProbeTime(java, 150_000))));
        assertEquals(pocl, CreditScorer.cheapest(List.of(
                new CreditScorer.ProbeTime(pocl, 150_000 / pocl.hostCores() - 1), new CreditScorer.ProbeTime(java, 150_000))));
        assertEquals(gpu, CreditScorer.cheapest(List.of(
                new CreditScorer.ProbeTime(gpu, 100_000), new CreditScorer.ProbeTime(java, 150_000))));
        assertEquals(java, CreditScorer.cheapest(List.of(
                new CreditScorer.ProbeTime(jtp, 150_000 / jtp.hostCores() + 1), new CreditScorer.ProbeTime(java, 150_000))));
        assertEquals(KernelExecutor.Backend.JAVA, CreditScorer.cheapest(List.of()).backend(), "nothing measured");
    }

    /** Probes are of 8 to 4096 trajectories: a batch of millions (strawless score) is probed, and cached, as 4096. */
    @Test
    void autoProbesAtMostFourThousandTrajectories() {
        CreditConfig auto = config("auto", "grpo");
        assertEquals(CreditScorer.autoKey(auto, 4096), CreditScorer.autoKey(auto, 1_000_000));
        assertEquals(CreditScorer.autoKey(auto, 8), CreditScorer.autoKey(auto, 0));
        assertNotEquals(CreditScorer.autoKey(auto, 256), CreditScorer.autoKey(auto, 4096));
    }

    /** A device as the OpenCL runtime describes it, never opened: only its type and compute units are read. */
    private static OpenCLDevice device(Device.TYPE type, int computeUnits) {
        OpenCLDevice device = new OpenCLDevice(null, 1L, type);
        device.setMaxComputeUnits(computeUnits);
        return device;
    }

    /** The packed arrays grow and are reused: a small micro-batch after a large one must not see stale numbers. */
    @Test
    void microBatchesOfChangingSizesReuseTheArraysSafely() {
        List<List<Trajectory>> batches = List.of(
                SyntheticTrajectories.generate(400, 12, 8, 1),
                RandomBatches.batch(3),
                List.of(),
                SyntheticTrajectories.generate(30, 3, 3, 2),
                SyntheticTrajectories.generate(700, 9, 7, 4));
        for (String estimator : RandomBatches.ESTIMATORS) {
            String whiten = estimator.equals("gigpo") ? "none" : "batch"; // the batch moments, where there are any
            try (CreditScorer reused = new CreditScorer(config("java", estimator, "credit.normalize", whiten))) {
                for (List<Trajectory> batch : batches) {
                    List<Credit> actual = reused.score(batch);
                    List<Credit> fresh = score("java", batch, estimator, "credit.normalize", whiten);
                    assertEquals(fresh.size(), actual.size());
                    for (int t = 0; t < fresh.size(); t++) {
                        assertClose(fresh.get(t).advantages(), actual.get(t).advantages(), estimator + " reused");
                        assertClose(fresh.get(t).returns(), actual.get(t).returns(), estimator + " reused returns");
                        Scoring.assertSameProcessRewards(fresh.get(t).processRewards(), actual.get(t).processRewards(),
                                estimator + " reused process rewards");
                    }
                }
            }
        }
    }

    @Test
    void trajectoriesWithoutAGroupIdAreGroupsOfOne() {
        List<Trajectory> batch = new ArrayList<>();
        for (double outcome : new double[] {1, 0, 0.5}) {
            batch.add(Scoring.trajectory("t" + outcome, null, outcome, new double[2], null, Scoring.allTrainable(2)));
        }
        List<Credit> raw = score("java", batch, "grpo", "credit.preset", "verl");
        assertClose(new double[] {1 / (1 + 1e-6), 0, 0.5 / (1 + 1e-6)}, Scoring.firstStepAdvantages(raw), "raw");
        List<Credit> zero = score("java", batch, "grpo", "credit.preset", "trl");
        assertClose(new double[] {0, 0, 0}, Scoring.firstStepAdvantages(zero), "zero");
    }

    /**
     * Three rewards of 0.1 sum to 0.30000000000000004: a mean taken so would leave each member a deviation of
     * -1.4e-17 and, with credit.epsilon=0, an advantage of -0.82. A group of equal rewards has no spread.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void aGroupOfEqualRewardsGetsNoCreditWithoutEpsilon(String backend) {
        List<Trajectory> group = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            group.add(Scoring.trajectory("t" + i, "g", 0.1, new double[2], null, Scoring.allTrainable(2)));
        }
        for (String ddof : new String[] {"0", "1"}) {
            List<Credit> credits = score(backend, group, "grpo", "credit.epsilon", "0", "credit.std-ddof", ddof);
            assertClose(new double[] {0, 0, 0}, Scoring.firstStepAdvantages(credits), "ddof " + ddof);
        }
    }

    /**
     * A group whose mean is finite and whose sum of squared deviations is not: divided by that std every credit would
     * be 0, finite and meaningless; on every backend it is not a finite number, which the job sends to unscored.
     */
    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void aGroupWhoseVarianceOverflowsGetsCreditThatIsNotFinite(String backend) {
        List<Trajectory> group = List.of(
                Scoring.trajectory("a", "g", 1e155, new double[2], null, Scoring.allTrainable(2)),
                Scoring.trajectory("b", "g", -1e155, new double[2], null, Scoring.allTrainable(2)));
        for (Credit credit : score(backend, group, "grpo")) {
            assertFalse(credit.isFinite(), credit.trajectoryId() + " " + Arrays.toString(credit.advantages()));
        }
    }

    @Test
    void theOutcomeEstimatorUsesTheSuppliedBaselineAndRewardScale() {
        Trajectory withBaseline = new Trajectory("t", null, "task", 1.0, TerminalKind.TERMINATED, Double.NaN, 0.25,
                List.of(new Step(0, Double.NaN, Double.NaN, true, null, Map.of()),
                        new Step(1, Double.NaN, Double.NaN, false, null, Map.of())));
        Credit credit = score("java", List.of(withBaseline), "outcome", "credit.reward-scale", "2").get(0);
        assertClose(new double[] {1.5, 0}, credit.advantages(), "advantage = 2 * (1 - 0.25)");
        assertClose(new double[] {2, 0}, credit.returns(), "return = 2 * 1");
    }

    @Test
    void invalidTrajectoriesAreRejectedWithTrajectoryStepAndField() {
        try (CreditScorer gae = new CreditScorer(config("java", "gae"))) {
            assertRejected(gae, trajectory(1.0, new Step(0, 0, 0.5, true, null, Map.of()),
                    new Step(0, 0, 0.5, true, null, Map.of())), "trajectory 't' step 0: index is not after");
            assertRejected(gae, trajectory(1.0, new Step(3, Double.POSITIVE_INFINITY, 0.5, true, null, Map.of())),
                    "trajectory 't' step 3: reward is Infinity");
            assertRejected(gae, trajectory(1.0, new Step(4, 0, Double.NaN, true, null, Map.of())),
                    "trajectory 't' step 4: value is absent (NaN) but estimator gae needs it");
            assertRejected(gae, new Trajectory("t", null, "task", 1.0, TerminalKind.TRUNCATED, Double.NaN, Double.NaN,
                    List.of(new Step(0, 0, 0.5, true, null, Map.of()))), "trajectory 't': bootstrapValue is absent");
            // A tool step needs no value.
            CreditScorer.validate(trajectory(1.0, new Step(0, 0, Double.NaN, false, null, Map.of())), config("java", "gae"));
        }
        try (CreditScorer grpo = new CreditScorer(config("java", "grpo"))) {
            assertRejected(grpo, trajectory(Double.NaN, new Step(0, 0, 0, true, null, Map.of())),
                    "trajectory 't': outcome is absent (NaN) but estimator grpo needs it");
            java.util.HashMap<String, Double> verdicts = new java.util.HashMap<>();
            verdicts.put("judge", null);
            assertRejected(grpo, trajectory(1.0, new Step(2, 0, 0, true, null, verdicts)),
                    "trajectory 't' step 2: verifierScores[judge] is null");
        }
        // process compares a group's outcomes (group-norm, rloo): one member without would count as a failure.
        List<Step> judged = List.of(new Step(0, 0, 0, true, null, Map.of("v", 1.0)));
        Trajectory with = new Trajectory("t1", "g", "task", 1.0, TerminalKind.TERMINATED, Double.NaN, Double.NaN, judged);
        Trajectory without = new Trajectory("t2", "g", "task", Double.NaN, TerminalKind.TERMINATED, Double.NaN,
                Double.NaN, judged);
        IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class,
                () -> score("java", List.of(with, without), "process"));
        assertTrue(mixed.getMessage().startsWith("group 'g': trajectory 't1' has an outcome and 't2' has none;"),
                mixed.getMessage());
        Trajectory alsoWithout = new Trajectory("t3", "g", "task", Double.NaN, TerminalKind.TERMINATED, Double.NaN,
                Double.NaN, judged);
        assertEquals(2, score("java", List.of(without, alsoWithout), "process").size(), "none: process supervision");
        assertEquals(2, score("java", List.of(with, without), "process", "credit.process-baseline", "none").size());
    }

    private static void assertRejected(CreditScorer scorer, Trajectory trajectory, String message) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> scorer.score(List.of(trajectory)));
        assertTrue(error.getMessage().startsWith(message), error.getMessage());
    }

    private static Trajectory trajectory(double outcome, Step... steps) {
        return new Trajectory("t", null, "task", outcome, TerminalKind.TERMINATED, Double.NaN, Double.NaN, List.of(steps));
    }

    /**
     * credit.singleton-group=task-baseline: a trajectory alone in its group (without a group id, or the one member
     * that came) gets its score minus its task's streaming baseline under every group-relative estimator, on every
     * backend; the members of a real group get what they would get otherwise.
     */
    @ParameterizedTest
    @CsvSource({"grpo, java", "grpo, jtp", "grpo, opencl", "dr_grpo, java", "rloo, java", "rloo, opencl",
            "reinforce_pp_baseline, java", "gigpo, java", "gigpo, opencl", "process, java", "process, opencl"})
    void aTrajectoryAloneIsScoredAgainstItsTasksBaseline(String estimator, String backend) {
        List<Trajectory> batch = new ArrayList<>(Scoring.outcomeGroup(1.0, 0.0, 0.0));
        boolean[] trainable = {true, false, true};
        batch.add(new Trajectory("ungrouped", null, "task", 1.0, TerminalKind.TERMINATED, Double.NaN, 0.25,
                Scoring.trajectory("x", null, 0, new double[3], null, trainable).steps()));
        batch.add(new Trajectory("alone", "h", "task", 0.0, TerminalKind.TERMINATED, Double.NaN, 0.5,
                Scoring.trajectory("x", null, 0, new double[3], null, trainable).steps()));

        List<Credit> credits = score(backend, batch, estimator);
        List<Credit> raw = score("java", batch, estimator, "credit.singleton-group", "raw");

        assertClose(new double[] {0.75, 0, 0.75}, credits.get(3).advantages(), "ungrouped: 1 - 0.25");
        assertClose(new double[] {-0.5, 0, -0.5}, credits.get(4).advantages(), "alone in h: 0 - 0.5");
        for (int t = 0; t < 3; t++) {
            assertClose(raw.get(t).advantages(), credits.get(t).advantages(), "member of g");
        }
    }

    /** Under process, only the outcome part of a trajectory alone takes the task's baseline: its process rewards stay. */
    @Test
    void processRewardsOfATrajectoryAloneKeepTheirValueUnderTheTaskBaseline() {
        List<Step> steps = new ArrayList<>(Scoring.trajectory("x", null, 0, new double[3], null,
                new boolean[] {true, false, true}).steps());
        steps.set(0, new Step(0, 0, Double.NaN, true, null, Map.of("prm", 0.8)));
        List<Trajectory> batch = List.of(
                new Trajectory("ungrouped", null, "task", 1.0, TerminalKind.TERMINATED, Double.NaN, 0.25, steps));

        double[] withBaseline = score("java", batch, "process").get(0).advantages();
        double[] raw = score("java", batch, "process", "credit.singleton-group", "raw").get(0).advantages();

        assertEquals(0.75, withBaseline[2], 1e-9, "the outcome part: 1 - 0.25");
        assertTrue(raw[0] - raw[2] > 0.1, "the step's process reward counts: " + raw[0] + ", " + raw[2]);
        assertEquals(raw[0] - raw[2], withBaseline[0] - withBaseline[2], 1e-9, "the same process part as raw");
    }

    /** Whitening over one value would give it 0 whatever it is: such a batch is refused, as verl's masked_var does. */
    @Test
    void aBatchTooSmallForItsStatisticsIsRefused() {
        List<Trajectory> oneStep = List.of(Scoring.trajectory("won", null, 1.0, new double[2], null,
                new boolean[] {false, true}));
        try (CreditScorer scorer = new CreditScorer(config("java", "reinforce_pp", "credit.preset", "verl"))) {
            assertEquals("credit.normalize=batch whitens over the batch's trainable steps, and this batch has one: its"
                    + " credit would be 0 whatever it is. Let batches grow (a longer batch.max-latency,"
                    + " batch.close-at-checkpoint=false) or whiten in the trainer",
                    scorer.batchTooSmall(oneStep).orElseThrow());
            assertThrows(IllegalArgumentException.class, () -> scorer.score(oneStep));
            List<Trajectory> twoSteps = List.of(Scoring.trajectory("won", null, 1.0, new double[2], null,
                    new boolean[] {true, true}));
            assertTrue(scorer.batchTooSmall(twoSteps).isEmpty());
            assertTrue(scorer.batchTooSmall(List.of()).isEmpty(), "nothing to score");
        }
        List<Trajectory> one = List.of(Scoring.trajectory("won", null, 1.0, new double[3], null,
                new boolean[] {true, false, true}));
        try (CreditScorer scorer = new CreditScorer(config("java", "grpo", "credit.scale-rewards", "batch"))) {
            assertTrue(scorer.batchTooSmall(one).orElseThrow().startsWith("credit.scale-rewards=batch scales over the"
                    + " batch's trajectories, and this batch has one"));
        }
        try (CreditScorer scorer = new CreditScorer(config("java", "grpo"))) {
            assertTrue(scorer.batchTooSmall(one).isEmpty(), "nothing taken over the batch");
        }
    }
}
