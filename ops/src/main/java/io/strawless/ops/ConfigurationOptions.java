package io.strawless.ops;

import io.strawless.pipeline.StrawlessOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
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
 * own keys pass as they are (Flink reads them), but for one within two edits of a Strawless key or a Kafka client's
 * setting without its prefix (see {@link StrawlessOptions#checked}).
 */
public final class ConfigurationOptions {

    @Option(
            names = "-D",
            paramLabel = "KEY=VALUE",
            // Not the namespaces by name: a hand-kept list falls behind the options; the reference is generated.
            description = "Set a configuration key, as on a cluster: any key in ops/CONFIGURATION.md, and Flink's"
                    + " own (e.g. -D execution.checkpointing.interval=5s).")
    private Map<String, String> settings = new LinkedHashMap<>();

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    /** The settings as a Flink configuration, once every Strawless key in them is known and its value reads. */
    public Configuration toConfiguration() {
        try {
            return StrawlessOptions.checked(Configuration.fromMap(settings));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "-D " + e.getMessage(), e);
        }
    }

    /**
     * {@code message} about a configuration key, told in terms of the flag that set it, where one did: the user typed
     * {@code --gamma 2}, not {@code -D credit.gamma=2}. A message that starts with the key starts with the flag
     * instead ("--gamma must be in [0.0, 1.0], not 2.0"); one that names the key elsewhere is prefixed with the flag.
     *
     * @param flagByKey the flag each key was set by, for the flags given
     */
    public static String namingFlags(String message, Map<String, String> flagByKey) {
        if (message == null) {
            return null;
        }
        for (Map.Entry<String, String> keyAndFlag : flagByKey.entrySet()) {
            String key = keyAndFlag.getKey();
            if (message.startsWith(key) && endsAKey(message, key.length())) {
                return keyAndFlag.getValue() + message.substring(key.length());
            }
        }
        for (Map.Entry<String, String> keyAndFlag : flagByKey.entrySet()) {
            String key = keyAndFlag.getKey();
            int at = message.indexOf(key);
            if (at >= 0 && endsAKey(message, at + key.length())) {
                return keyAndFlag.getValue() + ": " + message;
            }
        }
        return message;
    }

    /** Whether a key that ends at {@code end} of {@code message} ends there, not in the middle of a longer key. */
    private static boolean endsAKey(String message, int end) {
        return end == message.length() || " =:'".indexOf(message.charAt(end)) >= 0;
    }

    /**
     * Refuses {@code -D} of a key the command sets itself (the demo's broker address is its in-process broker's): a
     * value given would be replaced without a word. {@code instead} says what to use.
     */
    public static void refuseOwnSetting(CommandSpec spec, Configuration conf, ConfigOption<?> option, String instead) {
        if (conf.contains(option)) {
            throw new ParameterException(spec.commandLine(), "-D " + option.key() + " is set by '"
                    + spec.qualifiedName() + "' itself: " + instead);
        }
    }

    /**
     * The parallelism a command's job runs at: its {@code --parallelism} flag where given (it wins over
     * {@code -D parallelism.default}), else {@code -D parallelism.default} where given, else {@code fallback}.
     * A flag with a default value of its own would silently override the {@code -D} setting.
     *
     * @param flag the {@code --parallelism} value, {@code null} when the flag is absent
     * @throws ParameterException when the value used is below 1 or {@code parallelism.default} does not read
     */
    public static int parallelism(CommandSpec spec, Integer flag, Configuration conf, int fallback) {
        if (flag != null) {
            if (flag < 1) {
                throw new ParameterException(spec.commandLine(), "--parallelism must be at least 1, was " + flag);
            }
            return flag;
        }
        int configured;
        try {
            configured = conf.getOptional(CoreOptions.DEFAULT_PARALLELISM).orElse(fallback);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "-D " + CoreOptions.DEFAULT_PARALLELISM.key() + ": "
                    + StrawlessOptions.unreadable(CoreOptions.DEFAULT_PARALLELISM, e), e);
        }
        if (configured < 1) {
            throw new ParameterException(spec.commandLine(), "-D " + CoreOptions.DEFAULT_PARALLELISM.key()
                    + " must be at least 1, was " + configured);
        }
        return configured;
    }
}
