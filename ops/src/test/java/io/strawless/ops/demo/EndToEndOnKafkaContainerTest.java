package io.strawless.ops.demo;

import io.strawless.ops.DockerPreconditions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The end-to-end scenario against a real Kafka broker in a container, the Kafka release our clients are
 * built for. Skipped where Docker is not available, or its image cannot be pulled (failed for that in CI: {@link
 * DockerPreconditions}). The broker's port is mapped to a free one on the host, so no fixed port is needed.
 */
@Testcontainers(disabledWithoutDocker = true)
class EndToEndOnKafkaContainerTest extends EndToEndScenario {

    private static final String IMAGE = "apache/kafka:4.2.0";
    /** Started here rather than as a {@code @Container}, which would start before the image could be checked. */
    private static final KafkaContainer KAFKA = new KafkaContainer(IMAGE);

    @BeforeAll
    static void startKafka() {
        DockerPreconditions.requireImages(IMAGE);
        KAFKA.start();
    }

    @AfterAll
    static void stopKafka() {
        KAFKA.stop(); // nothing to stop where it never started
    }

    @Override
    String bootstrapServers() {
        return KAFKA.getBootstrapServers();
    }
}
