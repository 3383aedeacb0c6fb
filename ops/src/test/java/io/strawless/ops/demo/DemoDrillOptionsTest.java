package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The drill's flags are checked before anything starts. */
class DemoDrillOptionsTest {

    @Test
    void aNegativeFailureCountIsAUsageError() {
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setErr(new PrintWriter(err))
                .setOut(new PrintWriter(new StringWriter()))
                .execute("demo", "--inject-failures", "-1");
        assertEquals(2, exitCode);
        assertTrue(err.toString().contains("--inject-failures"), err.toString());
    }

    @Test
    void creditSettingsTheOracleDoesNotKnowAreRefused() {
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setErr(new PrintWriter(err))
                .setOut(new PrintWriter(new StringWriter()))
                .execute("demo", "--savepoint-resume", "-D", "credit.estimator=outcome");
        assertEquals(2, exitCode);
        assertTrue(err.toString().contains("credit.estimator"), err.toString());
    }
}
