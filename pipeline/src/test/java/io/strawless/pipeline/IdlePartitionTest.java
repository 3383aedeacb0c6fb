package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job on a Flink MiniCluster against the in-process broker: with several partitions and traffic
 * on only one, the quiet partitions are marked idle, the watermark advances, and a trajectory whose
 * outcome never comes is timed out into the unscored topic, committed exactly once.
 */
class IdlePartitionTest {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void quietPartitionsDoNotStallTimeouts() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(KafkaOptions.TOPIC_PARTITIONS, 3);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofSeconds(2));
        conf.set(JobOptions.SOURCE_IDLENESS, Duration.ofMillis(500));
        conf.set(JobOptions.MAX_OUT_OF_ORDERNESS, Duration.ZERO);
        TopicProvisioner.ensureTopics(conf);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        StrawlessJob.buildOnKafka(env, conf);
        JobClient job = env.executeAsync("idle-partition-test");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                StrawlessKafka.producerProperties(conf), new ByteArraySerializer(), new ByteArraySerializer())) {
            long t0 = System.currentTimeMillis();
            // Everything goes to partition 0 of the steps topic; the others stay empty.
            producer.send(new ProducerRecord<>("agent.steps", 0, null, step("lonely", 0, t0, true))).get();
            for (int i = 1; i <= 6; i++) {
                Thread.sleep(500); // real time passes so the empty partitions go idle
                producer.send(new ProducerRecord<>("agent.steps", 0, null, step("ticker-" + i, 0, t0 + i * 1_000L, false))).get();
            }
            List<UnscoredTrajectory> unscored = readUnscored(conf, "lonely", Duration.ofSeconds(60));
            assertEquals(1, unscored.size());
            assertEquals(UnscoredReason.OUTCOME_TIMEOUT, unscored.get(0).getReason());
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Flink drops the final maximal watermark of sources that were idle when the job was drained
     * (FLINK-40499): the keyed stages still fire their timers at the end of their input, so a trajectory
     * still waiting for its outcome times out into the unscored topic.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aDrainAfterTheSourcesWentIdleStillTimesOutWhatIsOpen(@TempDir Path savepoints) throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(KafkaOptions.STEPS_TOPIC, "drain.steps");
        conf.set(KafkaOptions.OUTCOMES_TOPIC, "drain.outcomes");
        conf.set(KafkaOptions.VERDICTS_TOPIC, "drain.verdicts");
        conf.set(KafkaOptions.UNSCORED_TOPIC, "drain.unscored");
        conf.set(KafkaOptions.BATCHES_TOPIC, "drain.batches");
        conf.set(KafkaOptions.DEAD_LETTERS_TOPIC, "drain.dlq");
        conf.set(KafkaOptions.GROUP_ID, "drain-test");
        conf.set(KafkaOptions.TRANSACTIONAL_ID_PREFIX, "drain-test");
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.SOURCE_IDLENESS, Duration.ofMillis(300));
        TopicProvisioner.ensureTopics(conf);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        StrawlessJob.buildOnKafka(env, conf);
        JobClient job = env.executeAsync("drain-after-idle-test");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                StrawlessKafka.producerProperties(conf), new ByteArraySerializer(), new ByteArraySerializer());
                Admin admin = Admin.create(java.util.Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            producer.send(new ProducerRecord<>("drain.steps", 0, null,
                    step("open", 0, System.currentTimeMillis(), true))).get();
            // Read and checkpointed once the job's group commits past it; then the sources go idle.
            while (admin.listConsumerGroupOffsets("drain-test").partitionsToOffsetAndMetadata().get().values().stream()
                    .noneMatch(offset -> offset != null && offset.offset() > 0)) {
                Thread.sleep(100);
            }
            Thread.sleep(1_500);
            job.stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                    .get(60, TimeUnit.SECONDS);

            List<UnscoredTrajectory> unscored = readUnscored(conf, "open", Duration.ofSeconds(30));
            assertEquals(1, unscored.size());
            assertEquals(UnscoredReason.OUTCOME_TIMEOUT, unscored.get(0).getReason());
        } catch (Exception e) {
            job.cancel();
            throw e;
        }
    }

    private static byte[] step(String trajectory, int index, long eventTime, boolean terminal) throws Exception {
        return StepEvent.newBuilder()
                .setTrajectoryId(trajectory).setStepIndex(index).setAgentId("a").setTaskId("k")
                .setEventTime(Instant.ofEpochMilli(eventTime))
                .setTerminal(terminal ? io.strawless.schemas.TerminalKind.TERMINATED : io.strawless.schemas.TerminalKind.NONE)
                .build().toByteBuffer().array();
    }

    private static List<UnscoredTrajectory> readUnscored(Configuration conf, String trajectory, Duration within) throws Exception {
        List<UnscoredTrajectory> found = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                StrawlessKafka.consumerProperties(conf, "idle-partition-reader"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(conf.get(KafkaOptions.UNSCORED_TOPIC)));
            long deadline = System.currentTimeMillis() + within.toMillis();
            while (found.isEmpty() && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    UnscoredTrajectory u = UnscoredTrajectory.fromByteBuffer(java.nio.ByteBuffer.wrap(r.value()));
                    if (u.getTrajectoryId().equals(trajectory)) {
                        found.add(u);
                    }
                }
            }
        }
        return found;
    }
}
