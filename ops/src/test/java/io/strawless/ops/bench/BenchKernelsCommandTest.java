package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.ops.StrawlessCli;
import io.strawless.pipeline.kernels.KernelExecutor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A smoke test of {@code strawless bench-kernels} on a tiny shape: well-formed output, never a timing. */
class BenchKernelsCommandTest {

    @Test
    void measuresEveryEstimatorAndBackendAndWritesOneJsonObject(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(new StringWriter()))
                .execute("bench-kernels", "--estimators", "gae,grpo", "--backends", "opencl,jtp,java",
                        "--shapes", "40x5,16x3", "--iterations", "1", "--warmup-seconds", "0",
                        "--json", json.toString());
        assertEquals(0, exitCode, out.toString());

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        // 2 shapes x 2 estimators x 3 backends, opencl measured or skipped with a note where no device is found.
        int measured = report.get("measurements").size();
        assertEquals(12, measured + report.get("skipped").size(), report.toString());
        // Only opencl may be skipped, and only where this machine has no OpenCL device (CI installs PoCL).
        boolean openCl = KernelExecutor.findOpenClDevice().isPresent();
        assertEquals(openCl ? 12 : 8, measured, report.toString());
        for (JsonNode note : report.get("skipped")) {
            assertTrue(note.asText().contains(" opencl: skipped"), note.toString());
        }
        for (JsonNode m : report.get("measurements")) {
            assertTrue(List.of("gae", "grpo").contains(m.get("estimator").asText()), m.toString());
            assertTrue(List.of("opencl", "jtp", "java").contains(m.get("backend").asText()), m.toString());
            assertEquals(m.get("shape").asText().equals("40x5") ? 200 : 48, m.get("steps").asLong(), m.toString());
            for (String figure : List.of("bytes", "kernelMillis", "kernelStepsPerSecond", "kernelBytesPerSecond",
                    "endToEndMillis", "endToEndStepsPerSecond", "readBytesPerSecond", "readWriteBytesPerSecond",
                    "boundBytesPerSecond", "ratioToBound")) {
                assertTrue(m.get(figure).asDouble() > 0, figure + " of " + m);
            }
            assertEquals(Math.max(m.get("readBytesPerSecond").asDouble(), m.get("readWriteBytesPerSecond").asDouble()),
                    m.get("boundBytesPerSecond").asDouble(), m.toString());
        }

        String printed = out.toString();
        assertEquals(measured, printed.lines().filter(line -> line.contains(": kernels ")).count(), printed);
        assertTrue(printed.contains("kernel Mstep/s"), printed);
    }

    @Test
    void aMalformedShapeIsAUsageError() {
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(new StringWriter()))
                .setErr(new PrintWriter(err))
                .execute("bench-kernels", "--shapes", "10000by50");
        assertEquals(2, exitCode);
        assertTrue(err.toString().contains("10000by50"), err.toString());
    }
}
