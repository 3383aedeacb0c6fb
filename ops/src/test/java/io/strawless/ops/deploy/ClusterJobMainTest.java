package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/** The cluster entry point builds the job from program arguments; nothing here talks to Kafka. */
class ClusterJobMainTest {

    @Test
    void aCheckpointIntervalFlinkRefusesIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--kafka.bootstrap-servers", "kafka:9092", "--execution.checkpointing.interval", "5ms"}));
        assertTrue(e.getMessage().startsWith("execution.checkpointing.interval must be at least 10 ms, was 5 ms"),
                e.getMessage());
    }

    @Test
    void programArgumentsConfigureTheJob() {
        ClusterJobMain.Job job = ClusterJobMain.prepare(new String[] {
                "--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s",
                "--job.name", "strawless-on-cluster"});

        assertEquals("strawless-on-cluster", job.name());
        assertEquals(10_000, job.env().getCheckpointConfig().getCheckpointInterval());
        List<String> uids = job.env().getStreamGraph().getStreamNodes().stream()
                .map(StreamNode::getTransformationUID).toList();
        assertTrue(uids.containsAll(List.of("inputs", "sink-batches", "sink-dead-letters", "sink-unscored")),
                uids.toString());
    }

    @Test
    void aMisspeltKeyStopsTheJobBeforeItRunsOnTheDefault() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(new String[] {
                "--kafka.bootstrap-servers", "kafka:9092", "--execution.checkpointing.interval", "10s",
                "--credit.estimater", "grpo"}));
        assertEquals("credit.estimater: not a Strawless setting; did you mean credit.estimator? the keys are listed in"
                + " ops/CONFIGURATION.md",
                e.getMessage());

        IllegalArgumentException badValue = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--kafka.bootstrap-servers", "kafka:9092", "--execution.checkpointing.interval", "10s",
                        "--batch.max-trajectories", "many"}));
        assertTrue(badValue.getMessage().startsWith("batch.max-trajectories=many: "), badValue.getMessage());
    }

    @Test
    void flinkKeysInAStrawlessNamespacePass() {
        // The Kubernetes operator's autoscaler settings sit in the same Flink configuration as the job's.
        ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s", "--job.autoscaler.enabled", "true",
                "--source.reader.close.timeout", "30s"});
    }

    @Test
    void refusesToRunWithoutCheckpointing() {
        assertThrows(IllegalArgumentException.class,
                () -> ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092"}));
    }
}
