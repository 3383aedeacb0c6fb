package io.strawless.ops.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.StrawlessCli;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** {@code strawless fingerprint} through the real command line: what a trainer computes is what the job writes. */
class FingerprintCommandTest {

    @Test
    void printsTheFingerprintTheJobWritesForTheSameSettings() {
        assertEquals("outcome-none-59ae3496", printed(), "the default configuration's, as it has been");
        assertEquals("grpo-verl-8e2578ac", printed("-D", "credit.estimator=grpo", "-D", "credit.preset=verl"));

        Configuration decayed = new Configuration();
        decayed.set(JobOptions.BASELINE_DECAY, 0.5);
        String fingerprint = printed("-D", "baseline.decay=0.5");
        assertEquals(CreditConfig.from(decayed).fingerprint(), fingerprint);
        assertNotEquals("outcome-none-59ae3496", fingerprint, "the baseline's decay changes outcome's numbers");
        assertEquals("outcome-none-59ae3496", printed("-D", "topics.batches=elsewhere"), "a setting without numbers");
    }

    @Test
    void settingsTheJobRefusesAreUsageErrorsNamingTheKey() {
        Outcome outOfRange = run("-D", "credit.gamma=1.5");
        assertEquals(2, outOfRange.exitCode(), outOfRange.err());
        assertEquals("strawless fingerprint: credit.gamma must be in [0.0, 1.0], not 1.5", outOfRange.err().strip());
        assertEquals("", outOfRange.out());

        Outcome refusedByTheJob = run("-D", "baseline.decay=1.5"); // checked where the baseline is kept, not in credit
        assertEquals(2, refusedByTheJob.exitCode(), refusedByTheJob.err());
        assertTrue(refusedByTheJob.err().startsWith("strawless fingerprint: baseline.decay must be within [0, 1]"),
                refusedByTheJob.err());

        Outcome misspelt = run("-D", "baseline.decey=0.5");
        assertEquals(2, misspelt.exitCode(), misspelt.err());
        assertTrue(misspelt.err().contains("baseline.decey"), misspelt.err());
    }

    private static String printed(String... args) {
        Outcome outcome = run(args);
        assertEquals(0, outcome.exitCode(), outcome.err());
        return outcome.out().strip();
    }

    private record Outcome(int exitCode, String err, String out) {}

    private static Outcome run(String... args) {
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();
        String[] command = new String[args.length + 1];
        command[0] = "fingerprint";
        System.arraycopy(args, 0, command, 1, args.length);
        int exitCode = StrawlessCli.commandLine()
                .setErr(new PrintWriter(err))
                .setOut(new PrintWriter(out))
                .execute(command);
        return new Outcome(exitCode, err.toString(), out.toString());
    }
}
