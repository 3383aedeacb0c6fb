package io.strawless.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ops/strawless} wrapper keeps stdout for the command it runs, so that {@code ops/strawless score ... >
 * out.jsonl} and {@code FP=$(ops/strawless fingerprint ...)} hold the command's output only, even on the run that
 * builds the jar; it builds the jar only when a source is newer, and checks the OpenCL runtime once. Run on a copy of
 * the wrapper in a repository of its own, with stand-ins for Maven, Java and the OpenCL installer.
 */
class WrapperScriptTest {

    /** Maven at -q still prints warnings (and errors) on stdout; this one also cleans target/ and builds the jar. */
    private static final String MAVEN = """
            #!/usr/bin/env bash
            echo "[WARNING] maven's own output"
            echo "$*" >> builds
            case " $* " in *" clean "*) rm -rf ops/target ;; esac
            mkdir -p ops/target && touch ops/target/strawless-cli.jar
            """;
    private static final String JAVA = """
            #!/usr/bin/env bash
            echo "the command's output"
            """;

    @Test
    void theBuildWritesNothingToStdout(@TempDir Path repo) throws Exception {
        Run run = run(repository(repo), "fingerprint", "--estimator", "grpo");

        assertEquals(0, run.exitCode(), run.stderr());
        assertEquals("the command's output\n", run.stdout(), "stderr: " + run.stderr());
        assertTrue(run.stderr().contains("Building Strawless") && run.stderr().contains("[WARNING] maven's own output"),
                run.stderr());
    }

    @Test
    void theJarIsBuiltOnlyWhenASourceIsNewerThanIt(@TempDir Path repo) throws Exception {
        Path wrapper = repository(repo);
        Path source = Files.createDirectories(repo.resolve("ops/src/main/java")).resolve("Source.java");
        Files.writeString(source, "class Source {}");
        Files.writeString(repo.resolve("pom.xml"), "<project/>");
        Path jar = Files.createDirectories(repo.resolve("ops/target")).resolve("strawless-cli.jar");
        Files.createFile(jar);
        // Every file and folder an hour old, the jar half an hour: it is current.
        Instant now = Instant.now();
        try (Stream<Path> paths = Files.walk(repo)) {
            for (Path path : paths.toList()) {
                Files.setLastModifiedTime(path, FileTime.from(now.minus(Duration.ofHours(1))));
            }
        }
        Files.setLastModifiedTime(jar, FileTime.from(now.minus(Duration.ofMinutes(30))));

        Run current = run(wrapper, "fingerprint");
        assertEquals(0, current.exitCode(), current.stderr());
        assertEquals(List.of(), builds(repo), "a current jar is run as it is: " + current.stderr());

        Files.setLastModifiedTime(source, FileTime.from(now));
        Run edited = run(wrapper, "fingerprint");
        assertEquals(0, edited.exitCode(), edited.stderr());
        assertEquals(List.of("-q -B -DskipTests clean install"), builds(repo), "a source newer than the jar");
    }

    /** Each rebuild's clean deletes target/: a marker kept there made every build install the runtime again. */
    @Test
    void theOpenClRuntimeIsCheckedOnceNotAfterEachRebuild(@TempDir Path repo) throws Exception {
        Path wrapper = repository(repo);
        executable(Files.createDirectories(repo.resolve("ops/bin")).resolve("install-opencl.sh"), """
                echo checked >> "$(dirname "$0")/../../opencl-checks"
                """);
        Path source = Files.createDirectories(repo.resolve("ops/src/main/java")).resolve("Source.java");
        Files.writeString(source, "class Source {}");

        assertEquals(0, run(wrapper, "demo").exitCode(), "the first run: no jar yet, so a build");
        Files.setLastModifiedTime(source, FileTime.from(Instant.now().plus(Duration.ofMinutes(1))));
        Run rebuilt = run(wrapper, "demo");

        assertEquals(0, rebuilt.exitCode(), rebuilt.stderr());
        assertEquals(2, builds(repo).size(), "the edited source rebuilt the jar, target/ cleaned: " + builds(repo));
        assertEquals(List.of("checked"), Files.readAllLines(repo.resolve("opencl-checks")), rebuilt.stderr());
    }

    /** A repository with the wrapper in ops/ and stand-ins for Maven and Java in bin/; the wrapper's path. */
    private static Path repository(Path repo) throws Exception {
        Path ops = Files.createDirectories(repo.resolve("ops"));
        Path wrapper = Files.copy(Path.of("strawless"), ops.resolve("strawless"));
        Path bin = Files.createDirectories(repo.resolve("bin"));
        executable(bin.resolve("mvn"), MAVEN);
        executable(bin.resolve("java"), JAVA);
        return wrapper;
    }

    private record Run(int exitCode, String stdout, String stderr) {}

    private static Run run(Path wrapper, String... args) throws Exception {
        Path repo = wrapper.getParent().getParent();
        Path stderr = Files.createTempFile(repo, "stderr", ".txt");
        List<String> command = Stream.concat(Stream.of("bash", wrapper.toString()), Stream.of(args)).toList();
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(stderr.toFile());
        builder.environment().put("PATH", repo.resolve("bin") + ":/usr/bin:/bin");
        Process process = builder.start();
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the wrapper ended");
        return new Run(process.exitValue(), stdout, Files.readString(stderr));
    }

    /** The arguments of each Maven run, one line a build. */
    private static List<String> builds(Path repo) throws Exception {
        Path builds = repo.resolve("builds");
        return Files.exists(builds) ? Files.readAllLines(builds) : List.of();
    }

    private static void executable(Path file, String script) throws Exception {
        Files.writeString(file, script);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
