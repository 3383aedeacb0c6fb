package io.strawless.pipeline;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.Misspelling;
import io.strawless.connectors.trainer.TrainerOptions;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

/**
 * Every Strawless option, and the check that a configuration names only those in their namespaces. The command
 * line and the cluster entry point check alike, so the same keys work, and fail, the same way everywhere.
 */
public final class StrawlessOptions {

    /** The classes that hold Strawless options, in the order a reader meets them. */
    public static final List<Class<?>> OPTION_CLASSES = List.of(
            KafkaOptions.class,
            JobOptions.class,
            CreditOptions.class,
            ReliabilityOptions.class,
            TrainerOptions.class);

    /**
     * Families of keys of Flink's that share a namespace with Strawless keys: the Kubernetes operator's autoscaler,
     * the source readers' (flink-connector-base's SourceReaderOptions).
     */
    private static final List<String> FLINK_PREFIXES = List.of("job.autoscaler.", "source.reader.");

    private StrawlessOptions() {}

    /**
     * {@code conf}, once every key in a Strawless namespace ({@code kafka.}, {@code job.}, ...) is a Strawless
     * setting and every Strawless value reads, every {@code kafka.client.*} key a setting of Kafka's clients that
     * the job lets through (see {@link KafkaOptions#checkClientSetting}), and {@code kafka.admin-timeout} at least
     * 1 ms; throws an {@link IllegalArgumentException} that starts with the key. A misspelt key must never run the
     * job on a default. Keys outside the namespaces are Flink's, and Flink reads them, ignoring one it does not know:
     * there a key within two edits of a Strawless key, or a Kafka client's setting without its prefix, is refused too.
     */
    public static Configuration checked(Configuration conf) {
        return checked(conf, conf.keySet());
    }

    /**
     * {@link #checked(Configuration)}, with the checks of keys outside the Strawless namespaces only for {@code given}:
     * on a cluster the configuration is also the cluster's, whose other keys may be meant for other jobs.
     */
    public static Configuration checked(Configuration conf, Set<String> given) {
        Map<String, ConfigOption<?>> known = byKey();
        Set<String> namespaces = new TreeSet<>();
        known.keySet().forEach(key -> namespaces.add(key.substring(0, key.indexOf('.') + 1)));
        Map<String, String> settings = conf.toMap();
        for (String key : new TreeSet<>(settings.keySet())) {
            ConfigOption<?> option = known.get(key);
            if (option == null && !key.startsWith(KafkaOptions.CLIENT_PREFIX)
                    && FLINK_PREFIXES.stream().noneMatch(key::startsWith)) {
                if (namespaces.stream().anyMatch(key::startsWith)) {
                    String closest = Misspelling.meant(key, known.keySet());
                    throw new IllegalArgumentException(key + ": not a Strawless setting; "
                            + (closest == null ? "" : "did you mean " + closest + "? ")
                            + "the keys are listed in ops/CONFIGURATION.md");
                }
                // Outside the namespaces the key is Flink's to read, which ignores one it does not know: a misspelt
                // Strawless key, or a Kafka client's setting without its prefix, would leave the job on a default.
                if (given.contains(key)) {
                    doubt(key, known).ifPresent(doubt -> {
                        throw new IllegalArgumentException(doubt);
                    });
                }
            }
            if (option == null && key.startsWith(KafkaOptions.CLIENT_PREFIX)) {
                KafkaOptions.checkClientSetting(key, settings.get(key), settings.keySet());
            }
            if (option != null) {
                try {
                    conf.get(option);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(key + "=" + settings.get(key) + ": " + unreadable(option, e), e);
                }
            }
        }
        // Read by every tool that talks to the broker, a value out of range would pass for no broker at all.
        KafkaOptions.adminTimeout(conf);
        return conf;
    }

    /**
     * The keys of {@code conf} outside the Strawless namespaces that look meant for Strawless, each as "key: why" (a
     * Kafka client's setting without its {@code kafka.client.} prefix, or a key within two edits of a Strawless one):
     * for a cluster's configuration, whose other keys may be meant for other jobs, where {@link #checked} refuses
     * only the keys given to this job.
     */
    public static List<String> doubtfulKeys(Configuration conf) {
        Map<String, ConfigOption<?>> known = byKey();
        List<String> doubts = new ArrayList<>();
        for (String key : new TreeSet<>(conf.keySet())) {
            boolean outside = !known.containsKey(key) && !key.startsWith(KafkaOptions.CLIENT_PREFIX)
                    && FLINK_PREFIXES.stream().noneMatch(key::startsWith)
                    && known.keySet().stream().noneMatch(strawless -> key.startsWith(
                            strawless.substring(0, strawless.indexOf('.') + 1)));
            if (outside) {
                doubt(key, known).ifPresent(doubts::add);
            }
        }
        return doubts;
    }

    /** Why {@code key}, outside the Strawless namespaces, looks meant for Strawless, as "key: why"; or empty. */
    private static Optional<String> doubt(String key, Map<String, ConfigOption<?>> known) {
        Optional<String> clientSetting = KafkaOptions.unprefixedClientSetting(key);
        if (clientSetting.isPresent()) {
            return Optional.of(key + ": " + clientSetting.get());
        }
        String closest = Misspelling.meant(key, known.keySet());
        return closest == null
                ? Optional.empty()
                : Optional.of(key + ": not a Strawless setting, and Flink would ignore it; did you mean " + closest + "?");
    }

    /**
     * Flink's "Could not parse value 'x' for key 'k'." with the reason, which Flink keeps in the cause: the values
     * an enum takes (listed here, from the option's default, since Flink's own words name the Java class), else the innermost
     * cause's message (a duration's units, a number that is none).
     */
    public static String unreadable(ConfigOption<?> option, IllegalArgumentException e) {
        String message = e.getMessage();
        String reason;
        if (option.hasDefaultValue() && option.defaultValue() instanceof Enum<?> enumDefault) {
            reason = "expected one of: " + Arrays.stream(enumDefault.getDeclaringClass().getEnumConstants())
                    .map(String::valueOf)
                    .collect(Collectors.joining(", "));
        } else {
            Throwable innermost = e;
            while (innermost.getCause() != null && innermost.getCause() != innermost) {
                innermost = innermost.getCause();
            }
            reason = innermost == e ? null : innermost.getMessage();
        }
        if (message == null) {
            return reason;
        }
        if (reason == null || reason.isBlank() || message.contains(reason)) {
            return message;
        }
        return (message.endsWith(".") ? message.substring(0, message.length() - 1) : message) + ": " + reason;
    }

    /** Every Strawless option by key. */
    private static Map<String, ConfigOption<?>> byKey() {
        Map<String, ConfigOption<?>> options = new LinkedHashMap<>();
        for (Class<?> holder : OPTION_CLASSES) {
            for (Declared declared : declaredBy(holder)) {
                options.put(declared.option().key(), declared.option());
            }
        }
        return options;
    }

    /**
     * An option as its class declares it.
     *
     * @param valueType the type of its values, e.g. {@code List<String>}: ConfigOption keeps it to itself
     */
    public record Declared(ConfigOption<?> option, Type valueType) {}

    /**
     * The public static options a class declares, in declaration order: the one list of a class's options, so that
     * an option added to the class is checked, documented and (credit options) copied without being listed again.
     */
    public static List<Declared> declaredBy(Class<?> holder) {
        List<Declared> options = new ArrayList<>();
        for (Field field : holder.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                try {
                    options.add(new Declared((ConfigOption<?>) field.get(null),
                            ((ParameterizedType) field.getGenericType()).getActualTypeArguments()[0]));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return options;
    }
}
