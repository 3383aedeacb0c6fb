package io.strawless.ops.deploy;

import io.strawless.connectors.KafkaOptions;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.runtime.entrypoint.ClusterEntrypoint;

/**
 * Every configuration key a deployment file may use, so that a typo or a key Flink 2 renamed fails a test
 * instead of being silently ignored by the cluster: the Strawless options, and the options of Flink's own
 * runtime (every {@code *Options} class of flink-core, flink-runtime and the RocksDB state backend).
 */
final class FlinkKeys {

    /**
     * Keys read by parts that are not on this classpath: metric reporters (named by the user), Kubernetes
     * and its operator (flink-kubernetes), the Kafka client passthrough.
     */
    private static final List<String> OPEN_PREFIXES =
            List.of("metrics.reporter.", "kubernetes.", KafkaOptions.CLIENT_PREFIX);

    /** key -> null for a current key, or the key that replaced it for a deprecated one. */
    private final Map<String, String> keys = new HashMap<>();

    FlinkKeys() {
        for (Class<?> strawless : List.of(KafkaOptions.class, JobOptions.class, CreditOptions.class)) {
            addOptionsOf(strawless);
        }
        for (Class<?> inJar : List.of(CoreOptions.class, ClusterEntrypoint.class, RocksDBOptions.class)) {
            for (String className : optionClassesInJarOf(inJar)) {
                try {
                    addOptionsOf(Class.forName(className));
                } catch (ClassNotFoundException | LinkageError e) {
                    // An options class whose optional dependencies are absent: none a deployment file here uses.
                }
            }
        }
    }

    /** Null when {@code key} is a current key; otherwise why not. */
    String problemWith(String key) {
        if (OPEN_PREFIXES.stream().anyMatch(key::startsWith)) {
            return null;
        }
        if (!keys.containsKey(key)) {
            return key + " is not a Flink 2.2 or Strawless configuration key";
        }
        String replacement = keys.get(key);
        return replacement == null ? null : key + " is deprecated: use " + replacement;
    }

    private void addOptionsOf(Class<?> holder) {
        for (Field field : holder.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                try {
                    ConfigOption<?> option = (ConfigOption<?>) field.get(null);
                    keys.put(option.key(), null);
                    for (FallbackKey fallback : option.fallbackKeys()) {
                        if (fallback.isDeprecated()) {
                            keys.putIfAbsent(fallback.getKey(), option.key());
                        }
                    }
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private static List<String> optionClassesInJarOf(Class<?> member) {
        try (JarFile jar = new JarFile(new File(member.getProtectionDomain().getCodeSource().getLocation().toURI()))) {
            return jar.stream()
                    .map(entry -> entry.getName())
                    .filter(name -> name.matches("org/apache/flink/.*Options\\.class"))
                    .map(name -> name.substring(0, name.length() - ".class".length()).replace('/', '.'))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
