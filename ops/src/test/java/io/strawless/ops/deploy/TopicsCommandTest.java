package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TopicsCommandTest {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void createsWhatIsMissingThenChecksAndReportsDrift() {
        Run created = topics("create");
        assertEquals(0, created.exitCode(), created.out());
        assertEquals(6, created.out().lines().filter(line -> line.contains("CREATED")).count(), created.out());

        Run again = topics("create");
        assertEquals(0, again.exitCode(), again.out());
        assertEquals(6, again.out().lines().filter(line -> line.contains("EXISTS")).count(), "idempotent: " + again.out());

        Run checked = topics("check");
        assertEquals(0, checked.exitCode(), checked.out());
        assertEquals(6, checked.out().lines().filter(line -> line.contains("EXISTS")).count(), checked.out());

        Run drifted = topics("check", "-D", "topics.partitions=2");
        assertEquals(1, drifted.exitCode(), drifted.out());
        assertTrue(drifted.out().contains("DRIFT"), drifted.out());
    }

    @Test
    void aSubcommandIsRequired() {
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine().setErr(new PrintWriter(err)).execute("topics");
        assertEquals(2, exitCode);
        assertTrue(err.toString().contains("create, or check"), err.toString());
    }

    private record Run(int exitCode, String out) {}

    /** {@code strawless topics <subcommand> -D kafka.bootstrap-servers=... <more>}. */
    private static Run topics(String subcommand, String... more) {
        List<String> command = new ArrayList<>(List.of("topics", subcommand, "-D",
                "kafka.bootstrap-servers=" + kafka.bootstrapServers()));
        command.addAll(List.of(more));
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(out)).execute(command.toArray(String[]::new));
        return new Run(exitCode, out.toString());
    }
}
