package io.strawless.connectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecord.Kind;
import io.strawless.connectors.serde.TestRecords;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The factories in a real (local) Flink job against the embedded broker: the bounded input source
 * reads all three topics and turns garbage into dead letters; the three exactly-once sinks commit on
 * the final checkpoint and write keyed single-object records that read_committed readers decode.
 */
class StrawlessKafkaJobTest {

    private static final byte[] GARBAGE = "not avro".getBytes(StandardCharsets.UTF_8);

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    private static Configuration conf;

    @BeforeAll
    static void provisionTopics() {
        conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(KafkaOptions.STARTING_OFFSETS, KafkaOptions.StartingOffsets.EARLIEST);
        TopicProvisioner.ensureTopics(conf);
    }

    @Test
    void boundedSourceAndExactlyOnceSinksRoundTrip() throws Exception {
        long produced = System.currentTimeMillis();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                StrawlessKafka.producerProperties(conf), new ByteArraySerializer(), new ByteArraySerializer())) {
            send(producer, KafkaOptions.STEPS_TOPIC, produced, TestRecords.step("traj-1", 0).toByteBuffer());
            send(producer, KafkaOptions.STEPS_TOPIC, produced, TestRecords.step("traj-1", 1).toByteBuffer());
            send(producer, KafkaOptions.OUTCOMES_TOPIC, produced, TestRecords.outcome("traj-1").toByteBuffer());
            send(producer, KafkaOptions.VERDICTS_TOPIC, produced, TestRecords.verdict("traj-1").toByteBuffer());
            send(producer, KafkaOptions.STEPS_TOPIC, produced, ByteBuffer.wrap(GARBAGE));
            // After the stop timestamp: a bounded (backfill) source must not read it.
            send(producer, KafkaOptions.STEPS_TOPIC, produced + 60_000, TestRecords.step("traj-1", 9).toByteBuffer());
        }
        Configuration job = new Configuration(conf);
        job.set(KafkaOptions.STOP_TIMESTAMP, produced + 30_000);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        DataStream<InputRecord> inputs =
                env.fromSource(StrawlessKafka.inputSource(job), WatermarkStrategy.noWatermarks(), "inputs");
        inputs.filter(r -> r.kind() == Kind.DEAD_LETTER).map(r -> r.deadLetter).returns(DeadLetter.class)
                .sinkTo(StrawlessKafka.deadLetterSink(job));
        env.fromData(TestRecords.batch("batch-1")).sinkTo(StrawlessKafka.batchSink(job));
        env.fromData(TestRecords.unscored("traj-2")).sinkTo(StrawlessKafka.unscoredSink(job));

        List<InputRecord> read = new ArrayList<>();
        try (CloseableIterator<InputRecord> results = inputs.executeAndCollect()) {
            results.forEachRemaining(read::add);
        }

        read.sort(Comparator.comparing((InputRecord r) -> r.kind()).thenComparing(r -> r.offset));
        assertEquals(List.of(Kind.STEP, Kind.STEP, Kind.OUTCOME, Kind.VERDICT, Kind.DEAD_LETTER),
                read.stream().map(InputRecord::kind).toList());
        assertEquals(TestRecords.outcome("traj-1"), read.get(2).outcome);

        List<ConsumerRecord<byte[], byte[]>> deadLetters = readCommitted(conf.get(KafkaOptions.DEAD_LETTERS_TOPIC));
        assertEquals(1, deadLetters.size());
        assertArrayEquals("traj-1".getBytes(StandardCharsets.UTF_8), deadLetters.get(0).key());
        DeadLetter deadLetter = DeadLetter.getDecoder().decode(deadLetters.get(0).value());
        assertArrayEquals(GARBAGE, toArray(deadLetter.getOriginalValue()));

        List<ConsumerRecord<byte[], byte[]>> batches = readCommitted(conf.get(KafkaOptions.BATCHES_TOPIC));
        assertEquals(1, batches.size());
        assertArrayEquals("batch-1".getBytes(StandardCharsets.UTF_8), batches.get(0).key());
        assertEquals(TestRecords.batch("batch-1"), TrainingBatch.getDecoder().decode(batches.get(0).value()));

        List<ConsumerRecord<byte[], byte[]>> unscored = readCommitted(conf.get(KafkaOptions.UNSCORED_TOPIC));
        assertEquals(1, unscored.size());
        assertArrayEquals("traj-2".getBytes(StandardCharsets.UTF_8), unscored.get(0).key());
        assertEquals(TestRecords.unscored("traj-2"), UnscoredTrajectory.getDecoder().decode(unscored.get(0).value()));
    }

    private static void send(KafkaProducer<byte[], byte[]> producer,
            org.apache.flink.configuration.ConfigOption<String> topic, long timestamp, ByteBuffer value)
            throws Exception {
        producer.send(new ProducerRecord<>(conf.get(topic), null, timestamp,
                "traj-1".getBytes(StandardCharsets.UTF_8), toArray(value))).get();
    }

    /** Everything committed so far, as a trainer reads it. */
    private static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
        Properties properties = StrawlessKafka.consumerProperties(conf, "test-reader");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    private static byte[] toArray(ByteBuffer buffer) {
        byte[] copy = new byte[buffer.remaining()];
        buffer.duplicate().get(copy);
        return copy;
    }
}
