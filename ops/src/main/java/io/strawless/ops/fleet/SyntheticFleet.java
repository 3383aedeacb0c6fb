package io.strawless.ops.fleet;

import io.strawless.connectors.StrawlessKafka;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends a {@link FleetScript} to the input topics the way production agents would: a plain Kafka producer,
 * idempotent and acks=all so that every record lands exactly once, with batching for throughput.
 */
public final class SyntheticFleet {

    private final ReadableConfig conf;
    private final AtomicLong acknowledged = new AtomicLong();

    public SyntheticFleet(ReadableConfig conf) {
        this.conf = conf;
    }

    /** Records the broker has acknowledged so far; safe to read from another thread while sending. */
    public long acknowledged() {
        return acknowledged.get();
    }

    /** Sends every record of the script and returns once the broker has acknowledged all of them. */
    public void send(FleetScript script) {
        send(script.records());
    }

    /** Sends {@code records} in order and returns once the broker has acknowledged all of them. */
    public void send(List<FleetRecord> records) {
        Map<InputTopic, String> topicNames = new EnumMap<>(InputTopic.class);
        for (InputTopic topic : InputTopic.values()) {
            topicNames.put(topic, topic.name(conf));
        }
        AtomicReference<Exception> firstFailure = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties())) {
            for (FleetRecord record : records) {
                if (firstFailure.get() != null) {
                    break;
                }
                producer.send(
                        new ProducerRecord<>(
                                topicNames.get(record.topic()), null, record.timestamp(), record.key(), record.value()),
                        (metadata, exception) -> {
                            if (exception == null) {
                                acknowledged.incrementAndGet();
                            } else {
                                firstFailure.compareAndSet(null, exception);
                            }
                        });
            }
            producer.flush();
        }
        if (firstFailure.get() != null) {
            throw new IllegalStateException("the fleet could not send its records", firstFailure.get());
        }
    }

    private Properties producerProperties() {
        Properties properties = StrawlessKafka.producerProperties(conf); // idempotent, acks=all
        properties.put(ProducerConfig.CLIENT_ID_CONFIG, "strawless-fleet");
        properties.put(ProducerConfig.LINGER_MS_CONFIG, 10);
        properties.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return properties;
    }
}
