package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Inputs whose outputs would exceed Kafka's 1 MB default, on the in-process broker with its default limits: the job
 * keeps every record it writes within kafka.max-record-bytes instead of failing its sink (and then failing again on
 * the same batch after every restore). Trajectories that fill more than one batch are spread over several; a
 * trajectory no batch holds goes to the unscored topic without its token ids; a dead letter of a 1.2 MB input
 * record goes out without the record's bytes.
 */
class OversizedRecordsTest {

    private static final int TOKENS_PER_STEP = 25_000; // about 75 KB a step

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void everyRecordFitsTheLimitAndNothingIsLost() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(KafkaOptions.STEPS_TOPIC, "big.steps");
        conf.set(KafkaOptions.OUTCOMES_TOPIC, "big.outcomes");
        conf.set(KafkaOptions.VERDICTS_TOPIC, "big.verdicts");
        conf.set(KafkaOptions.BATCHES_TOPIC, "big.batches");
        conf.set(KafkaOptions.DEAD_LETTERS_TOPIC, "big.dlq");
        conf.set(KafkaOptions.UNSCORED_TOPIC, "big.unscored");
        conf.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.EMIT_ON_COMPLETION, true);
        TopicProvisioner.ensureTopics(conf);
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            // The agents' topic takes a step larger than the job's outputs may be.
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "big.steps"), List.of(
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", "4000000"), AlterConfigOp.OpType.SET))))
                    .all().get();
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        StrawlessJob.buildOnKafka(env, conf);
        JobClient job = env.executeAsync("oversized-records-test");
        Properties producerProperties = StrawlessKafka.producerProperties(conf);
        producerProperties.setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "4000000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                producerProperties, new ByteArraySerializer(), new ByteArraySerializer())) {
            long t0 = System.currentTimeMillis();
            for (int i = 0; i < 6; i++) { // 300 KB each: 1.8 MB in all
                send(producer, "ok-" + i, 4, TOKENS_PER_STEP, t0);
            }
            send(producer, "huge", 16, TOKENS_PER_STEP, t0); // 1.2 MB: no batch holds it
            producer.send(new ProducerRecord<>("big.steps", "giant".getBytes(), step("giant", 0, 400_000, true, t0)))
                    .get(); // 1.2 MB in one step: over job.max-tokens-per-step

            Set<String> batched = new TreeSet<>();
            List<UnscoredTrajectory> unscored = new ArrayList<>();
            List<DeadLetter> deadLetters = new ArrayList<>();
            int batches = 0;
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                    StrawlessKafka.consumerProperties(conf, "oversized-reader"), new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
                consumer.subscribe(List.of("big.batches", "big.unscored", "big.dlq"));
                long deadline = System.currentTimeMillis() + 120_000;
                while ((batched.size() < 6 || unscored.isEmpty() || deadLetters.isEmpty())
                        && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        int bytes = (r.key() == null ? 0 : r.key().length) + r.value().length;
                        assertTrue(bytes <= 1_000_000, r.topic() + " record of " + bytes + " bytes");
                        ByteBuffer value = ByteBuffer.wrap(r.value());
                        switch (r.topic()) {
                            case "big.batches" -> {
                                batches++;
                                TrainingBatch.fromByteBuffer(value).getTrajectories()
                                        .forEach(t -> batched.add(t.getTrajectoryId()));
                            }
                            case "big.unscored" -> unscored.add(UnscoredTrajectory.fromByteBuffer(value));
                            default -> deadLetters.add(DeadLetter.fromByteBuffer(value));
                        }
                    }
                }
            }
            assertEquals(Set.of("ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "ok-5"), batched);
            assertTrue(batches >= 2, batches + " batches");

            assertEquals(1, unscored.size(), unscored::toString);
            UnscoredTrajectory huge = unscored.get(0);
            assertEquals("huge", huge.getTrajectoryId());
            assertEquals(UnscoredReason.OVERSIZED, huge.getReason());
            assertEquals(16, huge.getSteps().size());
            assertNull(huge.getSteps().get(0).getTokenIds());
            assertTrue(huge.getDetail().contains("token ids are left out"), huge.getDetail());

            assertEquals(1, deadLetters.size(), deadLetters::toString);
            DeadLetter giant = deadLetters.get(0);
            assertEquals("OVERSIZED_PAYLOAD", giant.getErrorClass());
            assertNull(giant.getOriginalValue());
            assertTrue(giant.getErrorMessage().contains("is left out") && giant.getErrorMessage().contains("offset "),
                    giant.getErrorMessage());
            assertEquals(ByteBuffer.wrap("giant".getBytes()), giant.getOriginalKey());
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String trajectory, int steps, int tokens, long t0)
            throws Exception {
        for (int s = 0; s < steps; s++) {
            producer.send(new ProducerRecord<>("big.steps", trajectory.getBytes(),
                    step(trajectory, s, tokens, s == steps - 1, t0 + s)));
        }
        producer.send(new ProducerRecord<>("big.outcomes", trajectory.getBytes(),
                Events.outcome(trajectory, 1.0, 0, t0 + steps).toByteBuffer().array())).get();
    }

    private static byte[] step(String trajectory, int index, int tokens, boolean terminal, long eventTime)
            throws Exception {
        Random random = new Random(index);
        List<Integer> ids = new ArrayList<>(tokens);
        for (int k = 0; k < tokens; k++) {
            ids.add(100_000 + random.nextInt(50_000));
        }
        return Events.step(trajectory, index, eventTime)
                .setTokenIds(ids)
                .setTerminal(terminal ? TerminalKind.TERMINATED : TerminalKind.NONE)
                .build().toByteBuffer().array();
    }
}
