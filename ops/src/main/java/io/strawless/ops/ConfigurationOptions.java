package io.strawless.ops;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Option;

/**
 * The {@code -D key=value} option shared by the commands: any Strawless or Flink configuration key, the same
 * keys as on a cluster.
 */
public final class ConfigurationOptions {

    @Option(
            names = "-D",
            paramLabel = "KEY=VALUE",
            description = "Set a configuration key, as on a cluster: kafka.*, topics.*, job.*, batch.*, baseline.*,"
                    + " credit.* and Flink's own (e.g. -D execution.checkpointing.interval=5s).")
    private Map<String, String> settings = new LinkedHashMap<>();

    public Configuration toConfiguration() {
        return Configuration.fromMap(settings);
    }
}
