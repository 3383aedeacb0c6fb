package io.strawless.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class StrawlessCliTest {

  @Test
  void unknownFlagIsNamedAndExitsWithUsageCode() {
    Outcome outcome = run("demo", "--agnets", "5");
    assertEquals(2, outcome.exitCode());
    assertTrue(outcome.err().contains("--agnets"), outcome.err());
  }

  @Test
  void unparsableValueNamesItsFlag() {
    Outcome outcome = run("demo", "--agents", "many");
    assertEquals(2, outcome.exitCode());
    assertTrue(outcome.err().contains("--agents"), outcome.err());
  }

  @Test
  void outOfRangeValueNamesItsFlag() {
    Outcome outcome = run("demo", "--malformed-share", "1.5");
    assertEquals(2, outcome.exitCode());
    assertTrue(outcome.err().contains("--malformed-share"), outcome.err());
  }

  @Test
  void missingCommandIsAUsageError() {
    assertEquals(2, run().exitCode());
  }

  @Test
  void topicsNamesAnUnreachableBrokerAndFails() {
    Outcome outcome = run("topics", "--check", "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s");
    assertEquals(1, outcome.exitCode());
    assertTrue(outcome.err().contains("localhost:1"), outcome.err());
  }

  private record Outcome(int exitCode, String err) {}

  private static Outcome run(String... args) {
    StringWriter err = new StringWriter();
    int exitCode = StrawlessCli.commandLine().setErr(new PrintWriter(err)).setOut(new PrintWriter(new StringWriter()))
        .execute(args);
    return new Outcome(exitCode, err.toString());
  }
}
