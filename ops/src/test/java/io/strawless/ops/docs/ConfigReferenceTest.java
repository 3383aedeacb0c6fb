package io.strawless.ops.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** ops/CONFIGURATION.md is the generated reference; this test keeps it in step with the code. */
class ConfigReferenceTest {

    private static final Path DOC = Path.of("CONFIGURATION.md"); // surefire runs in the module directory

    @Test
    void referenceIsUpToDate() throws Exception {
        String generated = ConfigReference.markdown();
        if (Boolean.getBoolean("config.docs.update")) {
            Files.writeString(DOC, generated);
        }
        assertTrue(Files.exists(DOC), "ops/CONFIGURATION.md is missing");
        assertEquals(generated, Files.readString(DOC), "ops/CONFIGURATION.md is out of date: regenerate it with"
                + " mvn -q -pl ops test -Dtest=ConfigReferenceTest -Dconfig.docs.update=true");
    }

    @Test
    void everyOptionIsDocumented() {
        String generated = ConfigReference.markdown();
        for (String key : new String[] {"kafka.bootstrap-servers", "job.outcome-timeout", "credit.estimator", "batch.max-latency"}) {
            assertTrue(generated.contains("`" + key + "`"), key);
        }
    }

    /** Flink keeps what an enum's values mean on the values, out of the option's own description. */
    @Test
    void whatEachValueOfAnEnumMeansIsInItsOptionsRow() {
        String naming = row("kafka.transaction-naming");
        assertTrue(naming.contains("`incrementing`: a new transactional id per checkpoint, subtask and sink"), naming);
        assertTrue(naming.contains("`pooling`: reuses a few ids per subtask and sink"), naming);
        assertTrue(naming.contains("not the other way round"), naming);
        String start = row("source.starting-offsets");
        assertTrue(start.contains("`timestamp`: the first record at or after source.start-timestamp"), start);
    }

    private static String row(String key) {
        return ConfigReference.markdown().lines().filter(line -> line.startsWith("| `" + key + "` |")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for " + key));
    }
}
