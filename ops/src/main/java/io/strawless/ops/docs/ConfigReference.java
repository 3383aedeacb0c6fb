package io.strawless.ops.docs;

import io.strawless.connectors.KafkaOptions;
import io.strawless.pipeline.StrawlessOptions;
import io.strawless.pipeline.StrawlessOptions.Declared;
import io.strawless.pipeline.credit.CreditConfig;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.DescribedEnum;
import org.apache.flink.configuration.description.Description;
import org.apache.flink.configuration.description.HtmlFormatter;
import org.apache.flink.util.TimeUtils;

/**
 * Writes the configuration reference (ops/CONFIGURATION.md) from the {@link ConfigOption}s
 * themselves, so the documentation cannot drift from the code: every Strawless setting is one of
 * these, read the same way embedded, on a cluster and in backfill.
 */
public final class ConfigReference {

    private ConfigReference() {}

    public static String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Configuration reference\n\n")
                .append("Generated from the code by `ConfigReferenceTest` (do not edit by hand). Every key is a Flink\n")
                .append("`ConfigOption`: pass it as `-D key=value` to `ops/strawless`, as `-Dkey=value` to `flink run`,\n")
                .append("or in the Flink configuration / `FlinkDeployment.spec.flinkConfiguration`. Any Kafka client\n")
                .append("property can be passed through with the prefix `").append(KafkaOptions.CLIENT_PREFIX)
                .append("` (e.g. `").append(KafkaOptions.CLIENT_PREFIX).append("security.protocol=SASL_SSL`), but for\n")
                .append("those the job owns; a key no Kafka client knows is refused (README, Security).\n");
        for (Class<?> holder : StrawlessOptions.OPTION_CLASSES) {
            md.append("\n## ").append(holder.getSimpleName()).append("\n\n")
                    .append("| key | type | default | description |\n|---|---|---|---|\n");
            for (Declared declared : StrawlessOptions.declaredBy(holder)) {
                md.append(row(declared));
            }
        }
        return md.toString();
    }

    private static String row(Declared declared) {
        ConfigOption<?> option = declared.option();
        String description = (new HtmlFormatter().format(option.description())
                + valueDescriptions(declared.valueType())).replace("|", "\\|").replace("\n", " ")
                + switch (CreditConfig.inFingerprint(option)) {
                    case NO -> "";
                    case ALWAYS -> " *In the batches' `config_fingerprint`.*";
                    case UNDER_GROUP_RELATIVE_ESTIMATORS ->
                            " *In the batches' `config_fingerprint` under the group-relative estimators.*";
                    case WHERE_IT_CHANGES_THE_NUMBERS ->
                            " *In the batches' `config_fingerprint` where it changes the estimator's numbers and is not"
                                    + " at its default.*";
                };
        return "| `" + option.key() + "` | " + typeName(declared.valueType()) + " | " + defaultValue(option) + " | " + description + " |\n";
    }

    /**
     * What each value of a {@link DescribedEnum} means, as " Values: `a`: ...; `b`: ...", else nothing: Flink keeps
     * those descriptions on the enum's values, not in the option's description.
     */
    private static String valueDescriptions(Type type) {
        if (!(type instanceof Class<?> c) || !DescribedEnum.class.isAssignableFrom(c)) {
            return "";
        }
        return Arrays.stream(c.getEnumConstants())
                .map(value -> "`" + value + "`: " + new HtmlFormatter().format(
                        Description.builder().text("%s", ((DescribedEnum) value).getDescription()).build()))
                .collect(Collectors.joining("; ", " Values: ", "."));
    }

    private static String typeName(Type type) {
        if (type instanceof Class<?> c && c.isEnum()) {
            return "enum: " + String.join(", ", Arrays.stream(c.getEnumConstants()).map(Object::toString).toList());
        }
        return type instanceof Class<?> c ? c.getSimpleName() : type.getTypeName().replaceAll("java\\.(lang|util)\\.", "");
    }

    private static String defaultValue(ConfigOption<?> option) {
        if (!option.hasDefaultValue()) {
            return "(none)";
        }
        Object value = option.defaultValue();
        if (value instanceof Duration d) {
            return "`" + TimeUtils.formatWithHighestUnit(d) + "`";
        }
        if (value instanceof List<?> list && list.isEmpty() || value instanceof Map<?, ?> map && map.isEmpty()) {
            return "(empty)";
        }
        return "`" + value + "`";
    }
}
