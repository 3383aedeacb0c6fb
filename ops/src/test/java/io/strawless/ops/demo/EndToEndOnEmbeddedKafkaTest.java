package io.strawless.ops.demo;

import io.strawless.connectors.broker.InProcessKafka;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The end-to-end scenario against the in-process broker the demo uses. */
class EndToEndOnEmbeddedKafkaTest extends EndToEndScenario {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Override
    String bootstrapServers() {
        return kafka.bootstrapServers();
    }
}
