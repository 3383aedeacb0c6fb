package io.strawless.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ops/strawless} wrapper keeps stdout for the command it runs, so that {@code ops/strawless score ... >
 * out.jsonl} and {@code FP=$(ops/strawless fingerprint ...)} hold the command's output only, even on the run that
 * builds the jar. Run on a copy of the wrapper in a repository of its own, with stand-ins for Maven and Java.
 */
class WrapperScriptTest {

    @Test
    void theBuildWritesNothingToStdout(@TempDir Path repo) throws Exception {
        Path ops = Files.createDirectories(repo.resolve("ops"));
        Path wrapper = Files.copy(Path.of("strawless"), ops.resolve("strawless"));
        Path bin = Files.createDirectories(repo.resolve("bin"));
        // Maven at -q still prints warnings (and errors) on stdout; this one also builds the jar.
        executable(bin.resolve("mvn"), """
                #!/usr/bin/env bash
                echo "[WARNING] maven's own output"
                mkdir -p ops/target && touch ops/target/strawless-cli.jar
                """);
        executable(bin.resolve("java"), """
                #!/usr/bin/env bash
                echo "the command's output"
                """);

        ProcessBuilder builder = new ProcessBuilder("bash", wrapper.toString(), "fingerprint", "--estimator", "grpo")
                .redirectError(repo.resolve("stderr").toFile());
        builder.environment().put("PATH", bin + ":/usr/bin:/bin");
        Process process = builder.start();
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the wrapper ended");
        String stderr = Files.readString(repo.resolve("stderr"));

        assertEquals(0, process.exitValue(), stderr);
        assertEquals("the command's output\n", stdout, "stderr: " + stderr);
        assertTrue(stderr.contains("Building Strawless") && stderr.contains("[WARNING] maven's own output"), stderr);
    }

    private static void executable(Path file, String script) throws Exception {
        Files.writeString(file, script);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
