package io.strawless.ops;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.trainer.TrainerOptions;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code -D key=value} option shared by the commands: any Strawless or Flink configuration key, the same
 * keys as on a cluster.
 *
 * <p>Strawless keys are checked before anything starts: a misspelt key or a value of the wrong type is a usage
 * error that names the key, rather than a setting silently ignored or a failure after the broker started. Flink's
 * own keys pass as they are (Flink reads them).
 */
public final class ConfigurationOptions {

    /** The classes that hold Strawless options, in the order a reader meets them. */
    public static final List<Class<?>> OPTION_CLASSES = List.of(
            KafkaOptions.class,
            JobOptions.class,
            CreditOptions.class,
            ReliabilityOptions.class,
            TrainerOptions.class);

    /** Flink's own keys that share a namespace with Strawless keys. */
    private static final Set<String> FLINK_KEYS = Set.of("source.reader.close.timeout");
    /** Families of keys of Flink's that share a namespace with Strawless keys (the Kubernetes operator's autoscaler). */
    private static final List<String> FLINK_PREFIXES = List.of("job.autoscaler.");

    @Option(
            names = "-D",
            paramLabel = "KEY=VALUE",
            description = "Set a configuration key, as on a cluster: kafka.*, topics.*, job.*, batch.*, baseline.*,"
                    + " credit.* (all in ops/CONFIGURATION.md) and Flink's own (e.g. -D"
                    + " execution.checkpointing.interval=5s).")
    private Map<String, String> settings = new LinkedHashMap<>();

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    /** The settings as a Flink configuration, once every Strawless key in them is known and its value reads. */
    public Configuration toConfiguration() {
        try {
            return checked(Configuration.fromMap(settings));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "-D " + e.getMessage(), e);
        }
    }

    /**
     * {@code conf}, once every key in a Strawless namespace ({@code kafka.}, {@code job.}, ...) is a Strawless
     * setting and every Strawless value reads; throws an {@link IllegalArgumentException} that starts with the key.
     * The command line and the cluster entry point check alike: a misspelt key must never run the job on a
     * default. Keys outside the namespaces are Flink's, and Flink reads them.
     */
    public static Configuration checked(Configuration conf) {
        Map<String, ConfigOption<?>> known = strawlessOptions();
        Set<String> namespaces = new TreeSet<>();
        known.keySet().forEach(key -> namespaces.add(key.substring(0, key.indexOf('.') + 1)));
        Map<String, String> settings = conf.toMap();
        for (String key : new TreeSet<>(settings.keySet())) {
            ConfigOption<?> option = known.get(key);
            if (option == null
                    && !key.startsWith(KafkaOptions.CLIENT_PREFIX)
                    && !FLINK_KEYS.contains(key)
                    && FLINK_PREFIXES.stream().noneMatch(key::startsWith)
                    && namespaces.stream().anyMatch(key::startsWith)) {
                throw new IllegalArgumentException(
                        key + ": not a Strawless setting; the keys are listed in ops/CONFIGURATION.md");
            }
            if (option != null) {
                try {
                    conf.get(option);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(key + "=" + settings.get(key) + ": " + e.getMessage(), e);
                }
            }
        }
        return conf;
    }

    /** Every Strawless option by key. */
    public static Map<String, ConfigOption<?>> strawlessOptions() {
        Map<String, ConfigOption<?>> options = new LinkedHashMap<>();
        for (Class<?> holder : OPTION_CLASSES) {
            for (ConfigOption<?> option : optionsOf(holder)) {
                options.put(option.key(), option);
            }
        }
        return options;
    }

    /** The public static options a class declares, in declaration order. */
    public static List<ConfigOption<?>> optionsOf(Class<?> holder) {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (Field field : holder.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                try {
                    options.add((ConfigOption<?>) field.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return options;
    }
}
