package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The commands {@code demo --keep-broker} prints: they must read what the run wrote, where the run wrote it. */
class KeepBrokerCommandsTest {

    @Test
    void theBackfillGetsTheRunsSettingsAndTheTrainerOnlyWhatItReads() {
        Map<String, String> given = new LinkedHashMap<>();
        given.put("topics.steps", "my.steps");
        given.put("job.name", "it's mine");
        given.put("kafka.client.sasl.jaas.config", "secret");
        String printed = DemoCommand.followUpCommands("127.0.0.1:9092", CorrectOutput.SCRIPT, given);
        List<String> lines = printed.lines().toList();

        int backfill = lines.indexOf(lines.stream().filter(l -> l.contains("ops/strawless backfill")).findFirst()
                .orElseThrow());
        assertTrue(lines.get(backfill).startsWith("  ops/strawless backfill -D kafka.bootstrap-servers=127.0.0.1:9092"
                + " --from "), printed);
        assertEquals("      --estimator rloo --output-topic credit.batches.rloo \\", lines.get(backfill + 1), printed);
        assertEquals("      -D topics.steps=my.steps \\", lines.get(backfill + 2), printed);
        assertEquals("      -D 'job.name=it'\\''s mine'", lines.get(backfill + 3), printed);
        assertEquals("    (and the run's -D kafka.client.* settings, left out here: they may hold credentials)",
                lines.get(backfill + 4), printed);
        assertFalse(printed.contains("secret"), printed);

        assertTrue(lines.get(backfill + 5).startsWith("  /usr/bin/python3 ops/python/strawless_trainer.py"), printed);
        assertEquals("      -D topics.batches=credit.batches.rloo -D trainer.group-id=rloo-trainer --timeout 30",
                lines.get(backfill + 6), printed);
        assertEquals(backfill + 7, lines.size(), printed);
    }

    @Test
    void withoutSettingsTheCommandsAreAsBefore() {
        String printed = DemoCommand.followUpCommands("127.0.0.1:9092", CorrectOutput.SCRIPT, Map.of());
        assertTrue(printed.contains("      --estimator rloo --output-topic credit.batches.rloo" + System.lineSeparator()
                + "  /usr/bin/python3 ops/python/strawless_trainer.py -D kafka.bootstrap-servers=127.0.0.1:9092 \\"),
                printed);
        assertFalse(printed.contains("kafka.client"), printed);
    }
}
