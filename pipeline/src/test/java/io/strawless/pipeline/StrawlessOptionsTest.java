package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** What {@link StrawlessOptions#checked} says about a value that does not read: the key, the value and why. */
class StrawlessOptionsTest {

    private static String refusal(String key, String value) {
        return assertThrows(IllegalArgumentException.class,
                () -> StrawlessOptions.checked(Configuration.fromMap(Map.of(key, value)))).getMessage();
    }

    /** Flink's own message for an enum names the Java class; the values the key takes are what the user needs. */
    @Test
    void anEnumValueThatDoesNotReadListsTheValuesTheKeyTakes() {
        assertEquals("credit.preset=foo: Could not parse value 'foo' for key 'credit.preset': expected one of: none,"
                + " verl, trl, openrlhf", refusal("credit.preset", "foo"));
    }

    @Test
    void aDurationThatDoesNotReadSaysWhy() {
        String units = refusal("batch.max-latency", "5 parsecs");
        assertTrue(units.startsWith("batch.max-latency=5 parsecs: Could not parse value '5 parsecs' for key"
                + " 'batch.max-latency': Time interval unit label 'parsecs' does not match any of the recognized"
                + " units: "), units);
        assertTrue(units.contains("(ms | milli | millis"), units);

        String noNumber = refusal("batch.max-latency", "soon");
        assertTrue(noNumber.endsWith(": text does not start with a number, and is not a valid ISO-8601 duration"
                + " format: soon"), noNumber);
    }
}
