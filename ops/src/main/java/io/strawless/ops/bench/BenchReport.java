package io.strawless.ops.bench;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What {@code strawless bench} found, as one JSON object (snake_case keys) and as the table it prints. The
 * headline figures compare the job at its fastest parallelism with the passthrough at that same parallelism: the
 * job against the ceiling of the same machine, measured in the same run on the same records.
 *
 * @param loadAverage                 the system's load average when the bench started: other processes share
 *                                    the cores, so compare ratios and CPU time per step, not wall-clock rates
 * @param inProcessBroker             whether the bench ran its own broker, whose threads the process CPU figures
 *                                    then include; with {@code -D kafka.bootstrap-servers} they leave the broker out
 * @param stateBackend                {@code state.backend.type} of the jobs (hashmap: the heap; rocksdb)
 * @param managedMemoryMbPerSlot      the task manager's managed memory per slot, where RocksDB keeps its
 *                                    write buffers and block cache
 * @param agents                      agents whose trajectories make up the preloaded steps ({@code --agents})
 * @param tokensPerStep               token ids in each policy step ({@code --tokens-per-step}; 0: 4 to 16 at random)
 * @param miniBatchSize               most inputs the assembler applies together ({@code job.mini-batch.size};
 *                                    1: none)
 * @param headlineParallelism         the parallelism at which the job ran fastest: the headline rates, ratio and
 *                                    CPU figures are the job's and the passthrough's at this parallelism
 * @param passthroughStepsPerSecond   the passthrough's rate at that parallelism, in the middle of its run ({@link
 *                                    SustainedRate}), as every rate here
 * @param jobStepsPerCpuSecond        steps per second of CPU time of the whole process (the in-process broker
 *                                    included, where there is one) in the fastest job run: the "per core" rate
 * @param jobStepsPerCpuSecondLessJit the same less the JIT compiler's CPU time, which a job that has run for a while
 *                                    no longer spends ({@link Throughput#stepsPerCpuSecondLessJit}); the goal is read on
 *                                    the whole process
 * @param estimator                   the job's {@code credit.estimator}
 * @param groupRelative               whether that estimator, so configured, scores a group once all its members are
 *                                    complete ({@code CreditConfig#groupRelative}): the group latencies below are
 *                                    measured then only
 * @param p50GroupLastOutcomeToVisibleMs under a group-relative estimator, the latency from the last outcome of the
 *                                    trajectory's group instead of its own ({@link LatencyProbe.Latency}): what the
 *                                    job adds once the group's credit can be computed at all; null under the others
 * @param latencyGoalMs               checkpoint interval + 1 s; the goal is read on the latency from the trajectory's
 *                                    own outcome
 * @param liveStepsPerSecond          the rate the live fleet sent at ({@code --live-agents})
 * @param liveCpuMicrosPerStep        CPU time per step while the fleet sent live: the process's, less the
 *                                    bench's own fleet and trainer threads ({@link LatencyProbe.Load})
 * @param liveCpuSeconds              that CPU time, over the whole time the fleet sent
 * @param liveSettledCpuMicrosPerStep the same per step over the middle third of the fleet's timeline, after the
 *                                    JIT compiler's warm-up and before the fleet winds down ({@link
 *                                    LatencyProbe.Load}): nearer a long-running job's figure
 * @param liveSettledCpuSeconds       that CPU time, over the middle third
 * @param liveSettledCpuByThread      what it went to
 * @param stateBytesPerOpenTrajectory checkpointed state per trajectory still waiting for its outcome
 * @param backend                     the kernel backend the batches name (comma separated if several)
 * @param warnings                    what makes a figure above less than it seems, in words: a middle too short
 *                                    to hold the contenders' commits, a job that batched few of the steps it read,
 *                                    headline figures from a run that JFR recorded
 */
record BenchReport(
        int cores,
        double loadAverage,
        boolean inProcessBroker,
        String stateBackend,
        long managedMemoryMbPerSlot,
        int miniBatchSize,
        long steps,
        long records,
        int agents,
        int tokensPerStep,
        int partitions,
        long checkpointIntervalMs,
        int rounds,
        String estimator,
        int headlineParallelism,
        double passthroughStepsPerSecond,
        double jobStepsPerSecond,
        double ratioToPassthrough,
        double jobStepsPerCpuSecond,
        double jobStepsPerCpuSecondLessJit,
        double jobCpuMicrosPerStep,
        Double p50LatencyMs,
        Double p99LatencyMs,
        Double p50OutcomeToBatchMs,
        Double p99OutcomeToBatchMs,
        boolean groupRelative,
        Double p50GroupLastOutcomeToVisibleMs,
        Double p99GroupLastOutcomeToVisibleMs,
        int latencyTrajectories,
        int latencyUnseen,
        long latencyGoalMs,
        double liveStepsPerSecond,
        double liveCpuMicrosPerStep,
        double liveCpuSeconds,
        List<CpuWindow.ThreadCpu> liveCpuByThread,
        double liveSettledCpuMicrosPerStep,
        double liveSettledCpuSeconds,
        List<CpuWindow.ThreadCpu> liveSettledCpuByThread,
        double stateBytesPerOpenTrajectory,
        int openTrajectories,
        String backend,
        List<Run> runs,
        List<Profile.Summary> profiles,
        List<String> warnings) {

    /** The goal the issue sets for the job's rate per core. */
    static final double STEPS_PER_CORE_GOAL = 60_000;

    static final double RATIO_GOAL = 0.5;

    private static final JsonMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /** One contender at one parallelism; {@code ratioToPassthrough} compares with the passthrough at the same one. */
    record Run(
            String contender,
            int parallelism,
            double stepsPerSecond,
            Double ratioToPassthrough,
            double seconds,
            double middleSeconds,
            double middleCpuSeconds,
            double cpuMicrosPerStep,
            double stepsPerCpuSecond,
            long batchedSteps,
            List<CpuWindow.ThreadCpu> cpuByThread) {}

    /** Below this share of its steps in batches, a job's rate counts much work that ended elsewhere. */
    static final double BATCHED_SHARE_WARNING = 0.9;

    static BenchReport of(
            int cores,
            double loadAverage,
            boolean inProcessBroker,
            String stateBackend,
            long managedMemoryMbPerSlot,
            int miniBatchSize,
            long checkpointIntervalMs,
            int rounds,
            String estimator,
            int agents,
            int tokensPerStep,
            int partitions,
            List<Throughput> passthrough,
            List<Throughput> job,
            LatencyProbe.Latency latency,
            double stateBytes,
            int openTrajectories,
            List<Profile.Summary> profiles) {
        // The job at its best parallelism against the passthrough at that same parallelism: the best of each,
        // taken apart, could compare a job at 2 with a passthrough at 1.
        int best = headline(job);
        Throughput bestJob = job.get(best);
        Throughput bestPassthrough = passthrough.get(best);
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < passthrough.size(); i++) {
            runs.add(run(passthrough.get(i), null));
            runs.add(run(job.get(i), passthrough.get(i)));
        }
        return new BenchReport(
                cores,
                loadAverage,
                inProcessBroker,
                stateBackend,
                managedMemoryMbPerSlot,
                miniBatchSize,
                bestJob.steps(),
                bestJob.records(),
                agents,
                tokensPerStep,
                partitions,
                checkpointIntervalMs,
                rounds,
                estimator,
                bestJob.parallelism(),
                bestPassthrough.stepsPerSecond(),
                bestJob.stepsPerSecond(),
                bestJob.stepsPerSecond() / bestPassthrough.stepsPerSecond(),
                bestJob.stepsPerCpuSecond(),
                bestJob.stepsPerCpuSecondLessJit(),
                bestJob.cpuMicrosPerStep(),
                latency.p50Ms(),
                latency.p99Ms(),
                latency.p50ToBatchMs(),
                latency.p99ToBatchMs(),
                latency.groupRelative(),
                latency.p50FromGroupMs(),
                latency.p99FromGroupMs(),
                latency.trajectories(),
                latency.unseen(),
                checkpointIntervalMs + 1_000,
                latency.load().whole().stepsPerSecond(),
                latency.load().whole().cpuMicrosPerStep(),
                latency.load().whole().cpuSeconds(),
                latency.load().whole().threads(),
                latency.load().settled().cpuMicrosPerStep(),
                latency.load().settled().cpuSeconds(),
                latency.load().settled().threads(),
                stateBytes,
                openTrajectories,
                String.join(",", latency.backends()),
                runs,
                profiles,
                warnings(passthrough, job, checkpointIntervalMs));
    }

    /** Which of {@code job}'s runs the headline figures are: the fastest. */
    private static int headline(List<Throughput> job) {
        int best = 0;
        for (int i = 1; i < job.size(); i++) {
            if (job.get(i).stepsPerSecond() > job.get(best).stepsPerSecond()) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Both contenders pay for committing: the job at each checkpoint, the passthrough at each transaction, once per
     * checkpoint interval. A middle shorter than two intervals holds at most one commit, so its rate and CPU time
     * leave out most of that cost, and the contender whose middle is shorter gains (a fast passthrough's, on a
     * fast machine, may hold none). And the job's rate counts every step it read, also those that did not reach a
     * batch: dead-lettered, unscored, or still open in the job's state when the run ended (the bench stops the job
     * without draining it; its figures have the batched steps only). And --profile records the last round's job
     * runs, which with one round (or as the median of three) are the runs the headline figures come from.
     */
    static List<String> warnings(List<Throughput> passthrough, List<Throughput> job, long checkpointIntervalMs) {
        List<String> warnings = new ArrayList<>();
        double shortest = 2 * checkpointIntervalMs / 1000.0;
        for (List<Throughput> runs : List.of(passthrough, job)) {
            for (Throughput t : runs) {
                if (t.middle().seconds() < shortest) {
                    warnings.add(("the %s's measured middle at p%d lasted %.1f s, less than two commit intervals (%,d ms"
                            + " each): its figures leave out most of the cost of committing; raise --steps").formatted(
                            t.contender(), t.parallelism(), t.middle().seconds(), checkpointIntervalMs));
                }
            }
        }
        for (Throughput t : job) {
            double batched = t.batchedSteps() / (double) t.steps();
            if (batched < BATCHED_SHARE_WARNING) {
                warnings.add(("the job at p%d put %.0f%% of the steps into batches; the rest went to the dead-letter"
                        + " or unscored topics or were still open in its state when the run ended (the bench does not"
                        + " drain the job), and its rate counts every step it read").formatted(
                        t.parallelism(), 100 * batched));
            }
        }
        Throughput headline = job.get(headline(job));
        if (headline.profiled()) {
            warnings.add(("the headline figures come from the job's run at p%d that Java Flight Recorder recorded"
                    + " (--profile), which slows a run by about 5-20%%: its rate, ratio and CPU time per step carry"
                    + " that; take them from a run without --profile").formatted(headline.parallelism()));
        }
        return warnings;
    }

    private static Run run(Throughput t, Throughput passthrough) {
        return new Run(
                t.contender(),
                t.parallelism(),
                t.stepsPerSecond(),
                passthrough == null ? null : t.stepsPerSecond() / passthrough.stepsPerSecond(),
                t.seconds(),
                t.middle().seconds(),
                t.middle().cpuSeconds(),
                t.cpuMicrosPerStep(),
                t.stepsPerCpuSecond(),
                t.batchedSteps(),
                t.threads());
    }

    void writeJson(Path file) throws IOException {
        JSON.writeValue(file.toFile(), this);
    }

    void print(PrintWriter out) {
        out.println();
        out.printf(
                "%,d steps from %,d agents, %s (%,d records on %d input partitions), checkpoint interval %,d ms,"
                        + " %s state (managed memory %,d MB per slot, %s), %d cores, load average %.1f at the start%n",
                steps, agents, tokensPerStep > 0 ? tokensPerStep + " token ids per policy step"
                        : "4 to 16 token ids per policy step", records, partitions, checkpointIntervalMs, stateBackend, managedMemoryMbPerSlot,
                miniBatchSize > 1 ? String.format("assembler mini-batches of up to %,d inputs", miniBatchSize)
                        : "no assembler mini-batches",
                cores, loadAverage);
        if (rounds > 1) {
            out.printf(
                    "Each row: the median of %d rounds (every run's figures are in the progress lines above)%n",
                    rounds);
        }
        out.printf(
                "steps/s and CPU: the middle of each run (%.0f%% to %.0f%% of the steps read); run s: first record"
                        + " read to output committed%n",
                100 * SustainedRate.FROM, 100 * SustainedRate.TO);
        String row = "%-12s %4s %12s %10s %10s %12s %14s %14s%n";
        out.printf(row, "contender", "p", "steps/s", "vs pass", "run s", "CPU us/step", "steps/CPU-s", "batched steps");
        for (Run r : runs) {
            out.printf(
                    row,
                    r.contender(),
                    r.parallelism(),
                    "%,.0f".formatted(r.stepsPerSecond()),
                    r.ratioToPassthrough() == null ? "" : "%.2f".formatted(r.ratioToPassthrough()),
                    "%.1f".formatted(r.seconds()),
                    "%.1f".formatted(r.cpuMicrosPerStep()),
                    "%,.0f".formatted(r.stepsPerCpuSecond()),
                    "%,d".formatted(r.batchedSteps()));
        }
        if (!profiles.isEmpty()) {
            out.println("The last round's job runs were recorded with JFR (--profile), about a fifth slower, and count"
                    + " below: take rates and ratios from a run without --profile.");
        }
        out.printf(
                "Job / passthrough at the job's best parallelism (%d): %,.0f / %,.0f steps/s = %.2f (goal >= %.1f:"
                        + " %s)%n",
                headlineParallelism,
                jobStepsPerSecond,
                passthroughStepsPerSecond,
                ratioToPassthrough,
                RATIO_GOAL,
                verdict(ratioToPassthrough >= RATIO_GOAL));
        out.printf(
                "Job steps per CPU-second (whole process, %s): %,.0f (goal >= %,.0f per core: %s)%n",
                inProcessBroker ? "broker included" : "the broker runs elsewhere and is not counted",
                jobStepsPerCpuSecond, STEPS_PER_CORE_GOAL, verdict(jobStepsPerCpuSecond >= STEPS_PER_CORE_GOAL));
        out.printf(
                "  less the JIT compiler's CPU time, which a job that has run a while no longer spends: %,.0f%n",
                jobStepsPerCpuSecondLessJit);
        out.printf(
                "Latency, outcome arrival to batch visible (read_committed), %,d live trajectories: p50 %s, p99 %s"
                        + " (goal p99 <= %,d ms: %s)%n",
                latencyTrajectories,
                millis(p50LatencyMs),
                millis(p99LatencyMs),
                latencyGoalMs,
                verdict(p99LatencyMs != null && p99LatencyMs <= latencyGoalMs));
        out.printf(
                "  of which outcome arrival to batch created: p50 %s, p99 %s; the rest waits for the checkpoint%n",
                millis(p50OutcomeToBatchMs), millis(p99OutcomeToBatchMs));
        if (groupRelative) {
            out.printf(
                    "  from the last outcome of the trajectory's group (its group-relative credit waits for every"
                            + " member) to batch visible: p50 %s, p99 %s%n",
                    millis(p50GroupLastOutcomeToVisibleMs), millis(p99GroupLastOutcomeToVisibleMs));
        }
        if (latencyUnseen > 0) {
            out.printf("  %,d measured trajectories never showed up in a visible batch%n", latencyUnseen);
        }
        out.printf(
                "Live traffic: %,.0f steps/s at their pace kept %.2f cores busy, %.1f us CPU per step (the process,"
                        + " less the bench's own fleet and trainer threads; at a low rate fixed costs such as"
                        + " checkpoints dominate: raise --live-agents to load it); CPU by thread:%s%n",
                liveStepsPerSecond, liveStepsPerSecond * liveCpuMicrosPerStep / 1e6, liveCpuMicrosPerStep,
                CpuWindow.describe(liveCpuByThread, liveCpuSeconds));
        out.printf(
                "  settled, in the middle third of the fleet's timeline (after the JIT compiler's warm-up, before the"
                        + " fleet winds down): %.1f us CPU per step; CPU by thread:%s%n",
                liveSettledCpuMicrosPerStep, CpuWindow.describe(liveSettledCpuByThread, liveSettledCpuSeconds));
        out.printf(
                "State per open trajectory: %,.0f bytes (savepoint difference over %,d open trajectories)%n",
                stateBytesPerOpenTrajectory, openTrajectories);
        out.printf("Kernel backend: %s%n", backend.isEmpty() ? "(no batch seen)" : backend);
        for (String warning : warnings) {
            out.println("Warning: " + warning);
        }
        out.flush();
    }

    private static String millis(Double ms) {
        return ms == null ? "n/a" : "%,.0f ms".formatted(ms);
    }

    private static String verdict(boolean met) {
        return met ? "met" : "NOT met";
    }
}
