package io.strawless.connectors.broker;

import io.strawless.connectors.KafkaOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh {@link EmbeddedKafka} for the tests of one class: started before the first, closed after the last, the
 * same way in every module. One broker per class keeps classes apart (their topics, groups and transactions) and
 * pays the broker's start once per class rather than once per test.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final InProcessKafka kafka = new InProcessKafka();
 *
 * conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
 * }</pre>
 *
 * <p>On a static field, it starts the broker before the class's own {@code @BeforeAll} methods, which may use it
 * (to create topics, for instance). The pipeline and ops modules get it from this module's test-jar;
 * {@code EmbeddedKafka} itself stays free of JUnit, since the demo runs it.
 */
public final class InProcessKafka implements BeforeAllCallback, AfterAllCallback {

    private EmbeddedKafka broker;

    @Override
    public void beforeAll(ExtensionContext context) {
        broker = EmbeddedKafka.start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (broker != null) {
            EmbeddedKafka started = broker;
            broker = null;
            started.close();
        }
    }

    /** The running broker, for what {@link #bootstrapServers()} does not cover. */
    public EmbeddedKafka broker() {
        if (broker == null) {
            throw new IllegalStateException(
                    "no broker: register InProcessKafka on a static field with @RegisterExtension");
        }
        return broker;
    }

    /** {@code host:port} of the running broker. */
    public String bootstrapServers() {
        return broker().bootstrapServers();
    }

    /**
     * Settings for this broker whose six topics are named {@code <prefix>.steps}, {@code .outcomes}, {@code .verdicts},
     * {@code .batches}, {@code .dlq} and {@code .unscored}: unique to one test, so the tests of a class share the broker
     * without seeing each other's topics.
     */
    public Configuration topicsNamed(String prefix) {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, bootstrapServers());
        conf.set(KafkaOptions.STEPS_TOPIC, prefix + ".steps");
        conf.set(KafkaOptions.OUTCOMES_TOPIC, prefix + ".outcomes");
        conf.set(KafkaOptions.VERDICTS_TOPIC, prefix + ".verdicts");
        conf.set(KafkaOptions.BATCHES_TOPIC, prefix + ".batches");
        conf.set(KafkaOptions.DEAD_LETTERS_TOPIC, prefix + ".dlq");
        conf.set(KafkaOptions.UNSCORED_TOPIC, prefix + ".unscored");
        return conf;
    }
}
