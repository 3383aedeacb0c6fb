package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.connector.base.source.reader.SourceReaderOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * What {@link StrawlessOptions#checked} says about a value that does not read (the key, the value and why) and about
 * a key that is likely a misspelt one (the key meant).
 */
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
        assertEquals("credit.estimator=ppo: Could not parse value 'ppo' for key 'credit.estimator': expected one of:"
                + " outcome, grpo, dr_grpo, rloo, gae, reinforce_pp, reinforce_pp_baseline, process, gigpo",
                refusal("credit.estimator", "ppo"));
    }

    @Test
    void aMisspeltKeyIsRefusedWithTheKeyMeant() {
        assertEquals("job.outcome-timout: not a Strawless setting; did you mean job.outcome-timeout? the keys are"
                + " listed in ops/CONFIGURATION.md", refusal("job.outcome-timout", "1min"));
        // Outside the namespaces Flink would read the key, and ignore it.
        assertEquals("topic.partitions: not a Strawless setting, and Flink would ignore it; did you mean"
                + " topics.partitions?", refusal("topic.partitions", "8"));
        assertEquals("bootstrap.servers: a Kafka client setting the job controls: set kafka.bootstrap-servers",
                refusal("bootstrap.servers", "kafka:9092"));
        assertEquals("client.id: a Kafka client setting, which goes under kafka.client. (kafka.client.client.id)",
                refusal("client.id", "trainer-feed"));

        // On a cluster the configuration is also the cluster's: keys the job's arguments did not give are left alone.
        Configuration clusters = Configuration.fromMap(Map.of("bootstrap.servers", "other:9092", "topic.partitions", "8"));
        assertEquals(clusters, StrawlessOptions.checked(clusters, Set.of()));
    }

    /**
     * Flink reads every key outside the Strawless namespaces: none of its own may be taken for a misspelt Strawless
     * key or for a Kafka client's setting.
     */
    @Test
    void noFlinkSettingIsTakenForAMisspeltOne() throws Exception {
        List<String> flinkKeys = new ArrayList<>();
        for (Class<?> anOptionsClass : List.of(CoreOptions.class, JobGraph.class,
                StreamExecutionEnvironment.class, RocksDBOptions.class, SourceReaderOptions.class)) {
            URL jar = anOptionsClass.getProtectionDomain().getCodeSource().getLocation();
            try (JarFile classes = new JarFile(new File(jar.toURI()))) {
                for (JarEntry entry : Collections.list(classes.entries())) {
                    if (entry.getName().endsWith("Options.class") && !entry.getName().contains("$")) {
                        flinkKeys.addAll(keysOf(Class.forName(
                                entry.getName().replace('/', '.').replace(".class", ""), false,
                                getClass().getClassLoader())));
                    }
                }
            }
        }
        assertTrue(flinkKeys.size() > 500, "Flink's keys found: " + flinkKeys.size());
        List<String> refused = new ArrayList<>();
        for (String key : flinkKeys) {
            try {
                StrawlessOptions.checked(Configuration.fromMap(Map.of(key, "1")));
            } catch (IllegalArgumentException e) {
                if (e.getMessage().startsWith(key + ": ")) {
                    refused.add(e.getMessage());
                }
            }
        }
        assertEquals(List.of(), refused);
    }

    private static List<String> keysOf(Class<?> options) throws IllegalAccessException {
        List<String> keys = new ArrayList<>();
        for (Field field : options.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers()) && Modifier.isPublic(field.getModifiers())
                    && field.getType() == ConfigOption.class) {
                keys.add(((ConfigOption<?>) field.get(null)).key());
            }
        }
        return keys;
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
