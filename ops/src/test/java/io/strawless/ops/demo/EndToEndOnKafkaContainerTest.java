package io.strawless.ops.demo;

import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The end-to-end scenario against a real Kafka broker in a container, the Kafka release our clients are
 * built for. Skipped where Docker is not available.
 */
@Testcontainers(disabledWithoutDocker = true)
class EndToEndOnKafkaContainerTest extends EndToEndScenario {

    @Container
    private static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.2.0");

    @Override
    String bootstrapServers() {
        return KAFKA.getBootstrapServers();
    }
}
