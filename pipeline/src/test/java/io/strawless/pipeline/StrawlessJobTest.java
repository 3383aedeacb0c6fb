package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.junit.jupiter.api.Test;

class StrawlessJobTest {

    private static StreamExecutionEnvironment env(Configuration conf) {
        return StreamExecutionEnvironment.getExecutionEnvironment(conf);
    }

    private static Configuration conf() {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(1));
        // Kryo is slow and breaks state compatibility across upgrades: every type must have a real serializer.
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        return conf;
    }

    @Test
    void everyTypeHasAFlinkSerializerAndEveryOperatorAStableUid() {
        StreamExecutionEnvironment env = env(conf());
        StrawlessJob.buildOnKafka(env, conf());

        StreamGraph graph = env.getStreamGraph(false);
        graph.getJobGraph(); // creates every serializer: fails on a type that would need Kryo

        List<Transformation<?>> transformations = env.getTransformations();
        for (Transformation<?> t : transformations) {
            assertTrue(t.getUid() != null && !t.getUid().isBlank(), "operator without uid: " + t.getName());
        }
        assertTrue(transformations.size() >= 5);
    }

    @Test
    void refusesToRunWithoutCheckpointsBecauseNothingWouldBeCommitted() {
        Configuration conf = new Configuration();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrawlessJob.buildOnKafka(env(conf), conf));
        assertTrue(e.getMessage().contains("execution.checkpointing.interval"), e.getMessage());
    }

    @Test
    void uidsAreTheDocumentedOnes() {
        StreamExecutionEnvironment env = env(conf());
        StrawlessJob.buildOnKafka(env, conf());
        List<String> uids = env.getTransformations().stream().map(Transformation::getUid).toList();
        for (String uid : List.of("validate", "assemble", "group", "score-and-batch", "sink-batches", "sink-dead-letters", "sink-unscored")) {
            assertTrue(uids.contains(uid), "missing uid " + uid + " in " + uids);
        }
        assertEquals(uids.size(), uids.stream().distinct().count(), "uids must be unique");
    }

    @Test
    void anEventTimeTooFarAheadKeepsTheKafkaTimestampSoItCannotPushTheWatermark() {
        Configuration conf = conf();
        conf.set(JobOptions.MAX_FUTURE_EVENT_TIME, Duration.ofMinutes(10));
        TimestampAssigner<InputRecord> assigner = StrawlessJob.watermarks(conf).createTimestampAssigner(null);
        Instant now = Instant.now();
        long kafkaTimestamp = now.toEpochMilli() - 5;

        assertEquals(now.toEpochMilli(), assigner.extractTimestamp(step(now), kafkaTimestamp));
        assertEquals(kafkaTimestamp, assigner.extractTimestamp(step(now.plus(Duration.ofDays(365 * 100))), kafkaTimestamp));
    }

    private static InputRecord step(Instant eventTime) {
        return InputRecord.ofStep("agent.steps", 0, 0, 0, StepEvent.newBuilder()
                .setTrajectoryId("t").setStepIndex(0).setAgentId("a").setTaskId("task").setPolicyVersion(1)
                .setEventTime(eventTime).setTrainable(true).setTerminal(TerminalKind.TERMINATED).build());
    }
}
