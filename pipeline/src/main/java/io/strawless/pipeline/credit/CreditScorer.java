package io.strawless.pipeline.credit;

import com.aparapi.device.OpenCLDevice;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions.Backend;
import io.strawless.pipeline.kernels.KernelExecutor;
import io.strawless.pipeline.kernels.KernelExecutor.OpenClFailureException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores micro-batches of trajectories with the configured estimator on the configured backend.
 *
 * <p>Not thread-safe: its kernels' arguments are fields. Use one scorer per thread (per operator
 * subtask). If OpenCL fails at run time, the scorer logs one warning, counts a {@link #fallbacks()
 * fallback} and scores on with the {@code java} backend; it never fails for it.
 */
public final class CreditScorer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CreditScorer.class);

    /** The micro-batch size {@code auto} measures with where the caller does not say: the job's default. */
    public static final int DEFAULT_MICRO_BATCH = JobOptions.BATCH_MAX_TRAJECTORIES.defaultValue();
    /** The largest micro-batch {@code auto} measures with: enough to tell the backends apart on any larger one. */
    private static final int PROBE_MAX_TRAJECTORIES = 4096;
    private static final int PROBE_STEPS = 16;
    private static final int PROBE_GROUP_SIZE = 8;
    /**
     * Each backend runs the probe for this long before it is timed: long enough for the JIT to compile java's loops
     * (a first run is interpreted, and made OpenCL look faster than it is), short enough for a job's start.
     */
    private static final long PROBE_WARM_UP_NANOS = 200_000_000L;
    private static final int PROBE_RUNS = 5;
    /**
     * The backend {@code auto} picked, by the credit settings that decide the kernels' work ({@link
     * CreditConfig#kernelsKey}) and the micro-batch size, once per JVM ({@link #autoKey}): the probe takes seconds
     * (it compiles the OpenCL kernels), and every subtask of a task manager, and every job the JVM runs after (a
     * restart, a benchmark's next run), would otherwise repeat it while input waits. An OpenCL failure at run time
     * overrides an "opencl" pick ({@link #OPENCL_FAILED}).
     */
    private static final Map<String, KernelExecutor.Backend> AUTO_PICKS = new ConcurrentHashMap<>();
    /**
     * The credit settings ({@link CreditConfig#kernelsKey}) whose OpenCL kernels failed at run time in this JVM: auto
     * picks java for them from then on, at any micro-batch size, whatever it measured or will measure.
     */
    private static final Set<String> OPENCL_FAILED = ConcurrentHashMap.newKeySet();
    private static final String NO_OPENCL_ADVICE =
            "install an OpenCL runtime, e.g. apt-get install pocl-opencl-icd ocl-icd-libopencl1";

    private final CreditConfig config;
    /** The micro-batch size auto measures with: the job's batch.max-trajectories. */
    private final int microBatch;
    /** Where an OpenCL device is looked for: {@link KernelExecutor#findOpenClDevice}, but for tests. */
    private final Supplier<Optional<OpenCLDevice>> openClDevices;
    private final PackedBatch batch = new PackedBatch();
    private Estimators estimators;
    private long fallbacks;

    /** A scorer whose micro-batches are about {@link #DEFAULT_MICRO_BATCH} trajectories. */
    public CreditScorer(CreditConfig config) {
        this(config, DEFAULT_MICRO_BATCH);
    }

    /**
     * A scorer whose micro-batches are about {@code microBatch} trajectories: {@code credit.backend=auto} measures
     * the backends on one of that size, since a kernel launch that costs more than a small batch's loops pays off
     * only on large ones.
     */
    public CreditScorer(CreditConfig config, int microBatch) {
        this(config, microBatch, KernelExecutor::findOpenClDevice);
    }

    /** Looks for its OpenCL device with {@code openClDevices} (tests use it to stand for a machine without one). */
    CreditScorer(CreditConfig config, int microBatch, Supplier<Optional<OpenCLDevice>> openClDevices) {
        this.config = config;
        this.microBatch = microBatch;
        this.openClDevices = openClDevices;
        this.estimators = new Estimators(config, executorFor(config.backend()));
        LOG.info("Credit scoring with {} on {}", config.fingerprint(), estimators.executor().description());
    }

    /** Scores on {@code executor} whatever {@code config.backend()} says (tests use it to make OpenCL fail). */
    CreditScorer(CreditConfig config, KernelExecutor executor) {
        this.config = config;
        this.microBatch = DEFAULT_MICRO_BATCH;
        this.openClDevices = KernelExecutor::findOpenClDevice;
        this.estimators = new Estimators(config, executor);
    }

    /**
     * Throws {@link IllegalArgumentException}, naming trajectory, step and field, if {@code trajectory}
     * cannot be scored under {@code config}: an infinite number, a NaN the estimator needs, steps out of order.
     */
    public static void validate(Trajectory trajectory, CreditConfig config) {
        InputCheck.validate(trajectory, config);
    }

    /**
     * Why {@code microBatch} is too small to be scored as one batch under this configuration (statistics over the
     * whole batch need at least two values), or empty.
     */
    public Optional<String> batchTooSmall(List<Trajectory> microBatch) {
        return Optional.ofNullable(InputCheck.batchStatisticsUndefined(microBatch, config));
    }

    /**
     * Credits of {@code microBatch}, in its order. Groups are the trajectories that share a group id
     * within the micro-batch. Every trajectory, every group, and the batch's size where statistics are taken over
     * the whole batch ({@link #batchTooSmall}) are validated before any kernel runs.
     */
    public List<Credit> score(List<Trajectory> microBatch) {
        return score(microBatch, config);
    }

    /**
     * As {@link #score(List)}, with {@code verifierWeights} in place of {@code credit.verifier-weights} for this
     * call (a verifier absent from it weighs 1): the job passes the verifier reliabilities it has learnt.
     */
    public List<Credit> score(List<Trajectory> microBatch, Map<String, Double> verifierWeights) {
        return score(microBatch, config.withVerifierWeights(verifierWeights));
    }

    private List<Credit> score(List<Trajectory> microBatch, CreditConfig packing) {
        for (Trajectory trajectory : microBatch) {
            validate(trajectory, config);
        }
        InputCheck.validateGroups(microBatch, config);
        String tooSmall = InputCheck.batchStatisticsUndefined(microBatch, config);
        if (tooSmall != null) {
            throw new IllegalArgumentException(tooSmall);
        }
        batch.pack(microBatch, packing);
        try {
            estimators.run(batch);
        } catch (OpenClFailureException e) {
            fallBackToJava(e);
            batch.pack(microBatch, packing);
            estimators.run(batch);
        }
        return batch.unpack(microBatch);
    }

    /**
     * Validates and packs {@code microBatch}, and returns its estimator's kernels as a task that scores the
     * packed arrays again on each run, without validating, packing or unpacking: lets a benchmark time the
     * kernels alone. The task is valid until the next call of {@link #score} or of this method, and does
     * not fall back from OpenCL (it throws instead).
     */
    public Runnable kernelsOn(List<Trajectory> microBatch) {
        for (Trajectory trajectory : microBatch) {
            validate(trajectory, config);
        }
        InputCheck.validateGroups(microBatch, config);
        batch.pack(microBatch, config);
        return () -> estimators.run(batch);
    }

    /** The backend in use: "opencl", "jtp" or "java" (after auto selection and any fallback). */
    public String backend() {
        return estimators.executor().backend().toString();
    }

    /** The backend in use, with the OpenCL device and platform when it is "opencl". */
    public String device() {
        return estimators.executor().description();
    }

    /**
     * Whether this scorer fell back from OpenCL to java (0 or 1), or started on java under {@code auto} because
     * OpenCL failed earlier in this JVM for the same settings: expose it as a metric.
     */
    public long fallbacks() {
        return fallbacks;
    }

    @Override
    public void close() {
        estimators.close();
    }

    private KernelExecutor executorFor(Backend setting) {
        // auto: the backend it picked for these credit settings in this JVM, measuring them the first time; java
        // where OpenCL failed for them before, counted as a fallback, so that the gauge of a task restarted after
        // the failure still says the device is broken.
        boolean demoted = setting == Backend.AUTO && OPENCL_FAILED.contains(config.kernelsKey());
        if (demoted) {
            fallbacks++;
        }
        KernelExecutor.Backend backend = switch (setting) {
            case AUTO -> demoted
                    ? KernelExecutor.Backend.JAVA
                    : AUTO_PICKS.computeIfAbsent(autoKey(config, microBatch), key -> cheapestExecutor().backend());
            case OPENCL -> KernelExecutor.Backend.OPENCL;
            case JTP -> KernelExecutor.Backend.JTP;
            case JAVA -> KernelExecutor.Backend.JAVA;
        };
        return switch (backend) {
            case JAVA -> KernelExecutor.java();
            case JTP -> KernelExecutor.javaThreadPool();
            case OPENCL -> {
                Optional<OpenCLDevice> device = openClDevices.get();
                if (device.isPresent()) {
                    yield KernelExecutor.openCl(device.get());
                }
                fallbacks++;
                LOG.warn("credit.backend is opencl but no OpenCL device was found ({}); scoring with java instead",
                        NO_OPENCL_ADVICE);
                yield KernelExecutor.java();
            }
        };
    }

    private void fallBackToJava(OpenClFailureException failure) {
        fallbacks++;
        LOG.warn("OpenCL failed while scoring; falling back to the java backend for good: {}", failure.getMessage(),
                failure);
        try {
            estimators.close();
        } catch (RuntimeException | LinkageError | AssertionError e) {
            LOG.debug("Releasing the failed OpenCL kernels failed too", e);
        }
        estimators = new Estimators(config, KernelExecutor.java());
        // Whichever backend this scorer was configured with, the device failed in this JVM, and credit.backend=auto
        // should not pick it again for these settings.
        if (OPENCL_FAILED.add(config.kernelsKey())) {
            LOG.warn("credit.backend auto picks java from now on for the credit settings of {} in this JVM",
                    config.fingerprint());
        }
    }

    /**
     * The backends {@code auto} picked in this JVM, by {@link #autoKey}, and the settings whose OpenCL failed: the
     * caches themselves, which tests seed, read and clear (package-private for them only).
     */
    static Map<String, KernelExecutor.Backend> autoPicks() {
        return AUTO_PICKS;
    }

    static Set<String> openClFailures() {
        return OPENCL_FAILED;
    }

    /** Under which key {@link #autoPicks} keeps auto's pick for these settings and micro-batch size. */
    static String autoKey(CreditConfig config, int microBatch) {
        return config.kernelsKey() + "\nmicro-batch=" + probeTrajectories(microBatch);
    }

    /** How many trajectories auto's probe has for micro-batches of {@code microBatch}. */
    private static int probeTrajectories(int microBatch) {
        return Math.min(Math.max(microBatch, PROBE_GROUP_SIZE), PROBE_MAX_TRAJECTORIES);
    }

    /** One backend's time for the probe's micro-batch, and the cores it kept busy meanwhile. */
    record ProbeTime(KernelExecutor executor, long nanos) {
        /** What the micro-batch took from the host: a job's subtasks share its cores, so they are the cost. */
        long coreNanos() {
            return nanos * executor.hostCores();
        }

        @Override
        public String toString() {
            return String.format("%s %.3f ms x %d core(s)", executor.description(), nanos / 1e6, executor.hostCores());
        }
    }

    /** The probe that costs the host the least core time; java when there is none. */
    static KernelExecutor cheapest(List<ProbeTime> probes) {
        return probes.stream()
                .min(Comparator.comparingLong(ProbeTime::coreNanos))
                .map(ProbeTime::executor)
                .orElseGet(KernelExecutor::java);
    }

    /**
     * Times opencl, where there is a device, and java on a synthetic micro-batch of the scorer's size (at most {@value
     * #PROBE_MAX_TRAJECTORIES} trajectories of {@value #PROBE_STEPS} steps), after warming each up (the JIT, the OpenCL
     * compiler), and returns the one that costs the least core time ({@link #cheapest}). PoCL on a CPU spreads a batch
     * over every core and is charged for all of them: in a job they are the other subtasks' cores, so a batch done
     * in half the time on two cores is no cheaper. jtp does the same, never beats java at that price, and is not
     * tried. A GPU is timed alone, while the other subtasks wait for this pick; in the job they share it.
     */
    private KernelExecutor cheapestExecutor() {
        List<KernelExecutor> candidates = new ArrayList<>();
        openClDevices.get().ifPresent(device -> candidates.add(KernelExecutor.openCl(device)));
        candidates.add(KernelExecutor.java());
        int trajectories = probeTrajectories(microBatch);
        List<Trajectory> probe = SyntheticTrajectories.generate(trajectories, PROBE_STEPS, PROBE_GROUP_SIZE, 1);
        PackedBatch probeBatch = new PackedBatch();

        List<ProbeTime> times = new ArrayList<>();
        List<String> report = new ArrayList<>();
        if (candidates.size() < 2) {
            report.add("opencl unavailable (" + NO_OPENCL_ADVICE + ")");
        }
        for (KernelExecutor candidate : candidates) {
            try (Estimators probeEstimators = new Estimators(config, candidate)) {
                long warmUntil = System.nanoTime() + PROBE_WARM_UP_NANOS;
                do {
                    probeBatch.pack(probe, config);
                    probeEstimators.run(probeBatch);
                } while (System.nanoTime() < warmUntil);
                long best = Long.MAX_VALUE;
                for (int run = 0; run < PROBE_RUNS; run++) {
                    probeBatch.pack(probe, config);
                    long start = System.nanoTime();
                    probeEstimators.run(probeBatch);
                    best = Math.min(best, System.nanoTime() - start);
                }
                ProbeTime time = new ProbeTime(candidate, best);
                times.add(time);
                report.add(time.toString());
            } catch (OpenClFailureException e) {
                report.add(candidate.backend() + " failed: " + e.getMessage());
            }
        }
        KernelExecutor cheapest = cheapest(times);
        LOG.info("credit.backend auto picked {}: least core time of {} on a synthetic micro-batch of {} trajectories "
                + "x {} steps (best of {} runs after {} ms of warm-up each)", cheapest.backend(), report, trajectories,
                PROBE_STEPS, PROBE_RUNS, PROBE_WARM_UP_NANOS / 1_000_000);
        return cheapest;
    }
}
