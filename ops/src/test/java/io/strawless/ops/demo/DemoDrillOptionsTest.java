package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.apache.flink.configuration.Configuration;
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

    /** Without the demo's reporter no restart is counted: the drill says so rather than "too few failures". */
    @Test
    void restartsThatWereNeverReportedAreNotCalledTooFew() {
        try (JobMetrics unreported = JobMetrics.attachTo(new Configuration())) {
            assertEquals("the job's metrics were not reported, so its restarts cannot be counted: -D metrics.reporters"
                    + " must name strawless-demo, or be left unset",
                    DemoRun.tooFewRestarts(unreported, 3).getMessage());
        }
    }

    /**
     * Settings that change which of the fleet's trajectories reach a batch would make the drill report lost steps
     * after the whole run: they are usage errors before the broker starts, naming the key and the fix.
     */
    @Test
    void jobSettingsTheOracleDoesNotModelAreRefusedBeforeTheRun() {
        for (String setting : List.of("job.partial-groups=UNSCORED", "job.max-policy-lag=0", "job.outcome-timeout=1s",
                "job.group-timeout=10s", "job.required-verifiers=checker", "job.suspect-policy=UNSCORED",
                "job.max-step-index=4")) {
            String key = setting.substring(0, setting.indexOf('='));
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exitCode = StrawlessCli.commandLine()
                    .setErr(new PrintWriter(err))
                    .setOut(new PrintWriter(out))
                    .execute("demo", "--inject-failures", "2", "-D", setting);
            assertEquals(2, exitCode, setting + ": " + err);
            assertTrue(err.toString().contains("Invalid value for the exactly-once drill (--inject-failures,"
                    + " --savepoint-resume): -D " + setting + ": the oracle "), err.toString());
            assertTrue(err.toString().contains("; leave " + key + " out"), err.toString());
            assertEquals("", out.toString(), "nothing started");
        }
    }
}
