package io.strawless.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How an error about a configuration key is told in terms of the flag that set it. */
class ConfigurationOptionsTest {

    @Test
    void aMessageAboutAKeyAFlagSetNamesTheFlag() {
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("credit.preset", "--preset");
        flags.put("credit.gamma", "--gamma");
        assertEquals("--gamma must be in [0.0, 1.0], not 2.0",
                ConfigurationOptions.namingFlags("credit.gamma must be in [0.0, 1.0], not 2.0", flags),
                "the key that leads wins over one named later in the map's order");
        assertEquals("--preset: Could not parse value 'x' for key 'credit.preset'.",
                ConfigurationOptions.namingFlags("Could not parse value 'x' for key 'credit.preset'.", flags));
        assertEquals("credit.gammas: not a Strawless setting",
                ConfigurationOptions.namingFlags("credit.gammas: not a Strawless setting", flags),
                "a longer key that starts with a flag's key is not that key");
        assertNull(ConfigurationOptions.namingFlags(null, flags));
    }
}
