package io.strawless.ops.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.strawless.ops.ConfigurationOptions;
import io.strawless.ops.OutputFiles;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.CreditOptions.Backend;
import io.strawless.pipeline.credit.CreditScorer;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.credit.SyntheticTrajectories;
import io.strawless.pipeline.credit.Trajectory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code strawless bench-kernels}: how fast each estimator scores on each backend, against the machine's
 * memory bandwidth. Scoring is meant to be memory-bound, so the yardstick is the bandwidth that plain streaming
 * passes over arrays of the same size reach right after, under the same load: on a shared machine a bound
 * measured once at the start would not match the conditions of later measurements.
 */
@Command(
        name = "bench-kernels",
        header = "Measure credit scoring per estimator and backend against the machine's memory bandwidth.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "For each shape (synthetic trajectories x steps, groups of " + BenchKernelsCommand.GROUP_SIZE
                + "), estimator and backend, measures CreditScorer.score end to end (validation, packing, kernels,"
                + " unpacking), the kernels alone on pre-packed arrays, and then the bound: a streaming read and a"
                + " streaming read+write, in plain Java on every core, of arrays of as many steps. Times are medians"
                + " after warm-up runs. The kernels' effective bandwidth is the bytes they must read and write (each"
                + " packed input once, advantage and return once) over their time; its ratio to the faster streaming"
                + " pass says how close they come to the memory bound.",
            "A measurement, not a test: on a shared machine the numbers move from run to run."})
public final class BenchKernelsCommand implements Callable<Integer> {

    static final int GROUP_SIZE = 8;
    private static final long SEED = 1;
    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    @Option(names = "--estimators", split = ",", paramLabel = "E",
            description = "Estimators to measure (default: all): any of ${COMPLETION-CANDIDATES}.")
    private List<Estimator> estimators;

    @Option(names = "--backends", split = ",", paramLabel = "B", defaultValue = "opencl,jtp,java",
            description = "Backends to measure (default: ${DEFAULT-VALUE}); opencl is skipped, with a note, where"
                    + " no OpenCL device is found.")
    private List<Backend> backends;

    @Option(names = "--shapes", split = ",", paramLabel = "TxS", defaultValue = "10000x50,100000x20",
            converter = ShapeConverter.class,
            description = "Micro-batch shapes, trajectories x steps per trajectory (default: ${DEFAULT-VALUE}).")
    private List<Shape> shapes;

    @Option(names = "--iterations", paramLabel = "N", defaultValue = "11",
            description = "Timed runs per measurement; the median counts (default: ${DEFAULT-VALUE}).")
    private int iterations;

    @Option(names = "--warmup-seconds", paramLabel = "S", defaultValue = "1",
            description = "Untimed runs before each measurement, for at least this long (and at least one run), so that"
                    + " the JIT and the OpenCL compiler are done (default: ${DEFAULT-VALUE}).")
    private double warmupSeconds;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write every figure as one JSON object to FILE.")
    private Path json;

    /** Other credit.* keys, e.g. -D credit.preset=verl; estimator and backend come from the flags above. */
    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    /** Trajectories x steps per trajectory, e.g. 10000x50. */
    record Shape(int trajectories, int stepsPerTrajectory) {
        long steps() {
            return (long) trajectories * stepsPerTrajectory;
        }

        @Override
        public String toString() {
            return trajectories + "x" + stepsPerTrajectory;
        }
    }

    /** One estimator on one backend at one shape, with the bound measured right after it. */
    record Measurement(String shape, String estimator, String backend, String device, long steps, long bytes,
            double kernelMillis, double kernelStepsPerSecond, double kernelBytesPerSecond, double endToEndMillis,
            double endToEndStepsPerSecond, double readBytesPerSecond, double readWriteBytesPerSecond,
            double boundBytesPerSecond, double ratioToBound) {

        static Measurement of(Shape shape, Estimator estimator, CreditScorer scorer, double kernelNanos,
                double endToEndNanos, MemoryBandwidth.Figures bandwidth) {
            long bytes = KernelTraffic.bytes(estimator, shape.steps(), shape.trajectories());
            double kernelBytesPerSecond = bytes / kernelNanos * 1e9;
            return new Measurement(shape.toString(), estimator.toString(), scorer.backend(), scorer.device(),
                    shape.steps(), bytes, kernelNanos / 1e6, shape.steps() / kernelNanos * 1e9, kernelBytesPerSecond,
                    endToEndNanos / 1e6, shape.steps() / endToEndNanos * 1e9, bandwidth.readBytesPerSecond(),
                    bandwidth.readWriteBytesPerSecond(),
                    bandwidth.boundBytesPerSecond(), kernelBytesPerSecond / bandwidth.boundBytesPerSecond());
        }
    }

    record Report(int cores, String java, int iterations, double warmupSeconds, List<Measurement> measurements,
            List<String> skipped) {}

    @Override
    public Integer call() throws IOException {
        if (iterations < 1 || !(warmupSeconds >= 0)) {
            throw new ParameterException(spec.commandLine(),
                    "--iterations must be at least 1 and --warmup-seconds at least 0");
        }
        // The figures come after minutes of measuring: a path that cannot be written is refused before.
        if (json != null) {
            OutputFiles.requireWritable(spec, "--json", json);
        }
        long warmupNanos = (long) (warmupSeconds * 1e9);
        if (estimators == null) {
            estimators = List.of(Estimator.values());
        }
        // Every configuration is resolved first: a bad estimator or key fails now, not after minutes of measuring.
        Map<String, CreditConfig> configs = new HashMap<>();
        for (Estimator estimator : estimators) {
            for (Backend backend : backends) {
                configs.put(estimator + "/" + backend, config(estimator, backend));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Measurement> measurements = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Shape shape : shapes) {
            List<Trajectory> batch =
                    SyntheticTrajectories.generate(shape.trajectories(), shape.stepsPerTrajectory(), GROUP_SIZE, SEED);
            MemoryBandwidth memory = new MemoryBandwidth((int) shape.steps());
            for (Estimator estimator : estimators) {
                for (Backend backend : backends) {
                    try (CreditScorer scorer = new CreditScorer(configs.get(estimator + "/" + backend))) {
                        if (!scorer.backend().equals(backend.toString())) {
                            String note = shape + " " + estimator + " " + backend + ": skipped, scorer runs on "
                                    + scorer.backend() + " (no OpenCL device found? see ops/bin/install-opencl.sh)";
                            skipped.add(note);
                            progress(out, "%s", note);
                            continue;
                        }
                        double endToEndNanos =
                                MemoryBandwidth.medianNanos(() -> scorer.score(batch), warmupNanos, iterations);
                        double kernelNanos =
                                MemoryBandwidth.medianNanos(scorer.kernelsOn(batch), warmupNanos, iterations);
                        MemoryBandwidth.Figures bandwidth = memory.measure(warmupNanos, iterations);
                        Measurement m = Measurement.of(shape, estimator, scorer, kernelNanos, endToEndNanos, bandwidth);
                        measurements.add(m);
                        progress(out, "%s %s %s: kernels %.2f ms (%.1f M steps/s, %.1f GB/s, %.0f%% of the bound"
                                        + " %.1f GB/s);"
                                        + " end to end %.1f ms (%.2f M steps/s)",
                                shape, estimator, backend, m.kernelMillis(), m.kernelStepsPerSecond() / 1e6,
                                m.kernelBytesPerSecond() / 1e9, 100 * m.ratioToBound(), m.boundBytesPerSecond() / 1e9,
                                m.endToEndMillis(), m.endToEndStepsPerSecond() / 1e6);
                    }
                }
            }
        }
        out.println();
        printTable(out, measurements);
        Report report = new Report(Runtime.getRuntime().availableProcessors(), Runtime.version().toString(), iterations,
                warmupSeconds, measurements, skipped);
        if (json != null) {
            JSON.writeValue(json.toFile(), report);
            out.println("Figures written to " + json);
        }
        out.flush();
        return 0;
    }

    private CreditConfig config(Estimator estimator, Backend backend) {
        Configuration conf = configuration.toConfiguration();
        conf.set(CreditOptions.ESTIMATOR, estimator);
        conf.set(CreditOptions.BACKEND, backend);
        try {
            return CreditConfig.from(conf);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    private static void progress(PrintWriter out, String format, Object... args) {
        out.printf(format + "%n", args);
        out.flush();
    }

    private static void printTable(PrintWriter out, List<Measurement> measurements) {
        String row = "%-10s %-22s %-7s %10s %14s %12s %12s %11s %16s%n";
        out.printf(row, "shape", "estimator", "backend", "kernel ms", "kernel Mstep/s", "kernel GB/s", "bound GB/s",
                "% of bound", "end-to-end Mst/s");
        for (Measurement m : measurements) {
            out.printf(row, m.shape(), m.estimator(), m.backend(), String.format("%.2f", m.kernelMillis()),
                    String.format("%.1f", m.kernelStepsPerSecond() / 1e6),
                    String.format("%.1f", m.kernelBytesPerSecond() / 1e9),
                    String.format("%.1f", m.boundBytesPerSecond() / 1e9), String.format("%.0f", 100 * m.ratioToBound()),
                    String.format("%.2f", m.endToEndStepsPerSecond() / 1e6));
        }
        out.println("Bound: the faster of a streaming read and a streaming read+write of as many steps, plain Java on"
                + " every core, measured right after each row's kernels.");
    }

    /** Parses TxS, e.g. 10000x50. */
    static final class ShapeConverter implements ITypeConverter<Shape> {
        @Override
        public Shape convert(String value) {
            String[] parts = value.trim().split("x");
            try {
                if (parts.length == 2) {
                    Shape shape = new Shape(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
                    if (shape.trajectories() > 0 && shape.stepsPerTrajectory() > 0
                            && shape.steps() <= Integer.MAX_VALUE) {
                        return shape;
                    }
                }
            } catch (NumberFormatException e) {
                // Reported below.
            }
            throw new TypeConversionException("'" + value + "' is not TRAJECTORIESxSTEPS with positive numbers, "
                    + "e.g. 10000x50");
        }
    }
}
