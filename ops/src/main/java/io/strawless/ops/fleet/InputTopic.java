package io.strawless.ops.fleet;

import io.strawless.connectors.KafkaOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/** The three topics agents write to; their names come from the job's configuration. */
public enum InputTopic {
    STEPS(KafkaOptions.STEPS_TOPIC),
    OUTCOMES(KafkaOptions.OUTCOMES_TOPIC),
    VERDICTS(KafkaOptions.VERDICTS_TOPIC);

    private final ConfigOption<String> nameOption;

    InputTopic(ConfigOption<String> nameOption) {
        this.nameOption = nameOption;
    }

    public String name(ReadableConfig conf) {
        return conf.get(nameOption);
    }
}
