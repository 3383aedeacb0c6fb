package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
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
    void aSettingGivenInOneArgumentOrWithoutAValueIsRefused() {
        IllegalArgumentException joined = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--kafka.bootstrap-servers", "kafka:9092", "--state.backend.type=rocksdb"}));
        assertEquals("program argument --state.backend.type=rocksdb: give a setting as two arguments, --key value"
                + " (flink run takes -Dkey=value only before the jar)", joined.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--kafka.bootstrap-servers", "kafka:9092", "-Dcredit.estimator=grpo"}));

        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--kafka.bootstrap-servers", "kafka:9092", "--credit.estimator"}));
        assertEquals("program argument --credit.estimator has no value: --credit.estimator value (a value may not"
                + " begin with '-' unless it is a number)", empty.getMessage());
    }

    @Test
    void programArgumentsConfigureTheJob() {
        ClusterJobMain.Job job = ClusterJobMain.prepare(new String[] {
                "--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s", "--execution.checkpointing.dir", "file:///tmp/cp",
                "--pipeline.max-parallelism", "128", "--job.name", "strawless-on-cluster"});

        assertEquals("strawless-on-cluster", job.name());
        assertEquals(List.of(), job.warnings());
        assertEquals(10_000, job.env().getCheckpointConfig().getCheckpointInterval());
        List<String> uids = job.env().getStreamGraph().getStreamNodes().stream()
                .map(StreamNode::getTransformationUID).toList();
        assertTrue(uids.containsAll(List.of("inputs", "sink-batches", "sink-dead-letters", "sink-unscored")),
                uids.toString());
    }

    @Test
    void aMisspeltKeyStopsTheJobBeforeItRunsOnTheDefault() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(new String[] {
                "--kafka.bootstrap-servers", "kafka:9092", "--execution.checkpointing.interval", "10s", "--execution.checkpointing.dir", "file:///tmp/cp",
                "--credit.estimater", "grpo"}));
        assertEquals("credit.estimater: not a Strawless setting; did you mean credit.estimator? the keys are listed in"
                + " ops/CONFIGURATION.md",
                e.getMessage());

        IllegalArgumentException badValue = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--kafka.bootstrap-servers", "kafka:9092", "--execution.checkpointing.interval", "10s", "--execution.checkpointing.dir", "file:///tmp/cp",
                        "--batch.max-trajectories", "many"}));
        assertTrue(badValue.getMessage().startsWith("batch.max-trajectories=many: "), badValue.getMessage());
    }

    @Test
    void flinkKeysInAStrawlessNamespacePass() {
        // The Kubernetes operator's autoscaler settings sit in the same Flink configuration as the job's.
        ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s", "--execution.checkpointing.dir", "file:///tmp/cp", "--job.autoscaler.enabled", "true",
                "--source.reader.close.timeout", "30s"});
    }

    @Test
    void checkpointsThatMayStayInTheJobManagersMemoryAreAWarning() {
        ClusterJobMain.Job job = ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s", "--pipeline.max-parallelism", "128"});
        assertEquals(1, job.warnings().size(), job.warnings().toString());
        assertTrue(job.warnings().get(0).startsWith("execution.checkpointing.dir is not set here: unless the cluster's"
                + " own configuration sets it, Flink keeps the job's checkpoints in the JobManager's memory"),
                job.warnings().get(0));

        assertEquals(List.of(), ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s", "--pipeline.max-parallelism", "128",
                "--execution.checkpointing.storage", "jobmanager"}).warnings());
    }

    @Test
    void whatMayRunButLooksWrongIsAWarning() {
        Configuration cluster = new Configuration();
        // flink run -D lands in the cluster's configuration, which may hold other jobs' keys: warned, not refused.
        cluster.setString("bootstrap.servers", "kafka:9092");
        cluster.setString("topic.partitions", "6");
        Configuration programArguments = new Configuration();
        programArguments.setString("kafka.bootstrap-servers", "kafka:9092");
        programArguments.setString("execution.checkpointing.interval", "10s");
        programArguments.setString("execution.checkpointing.dir", "file:///tmp/cp");
        cluster.addAll(programArguments);
        ClusterJobMain.Job job = ClusterJobMain.prepare(
                StreamExecutionEnvironment.getExecutionEnvironment(cluster), programArguments);

        assertEquals(3, job.warnings().size(), job.warnings().toString());
        assertTrue(job.warnings().get(0).startsWith("bootstrap.servers: "), job.warnings().get(0));
        assertTrue(job.warnings().get(1).startsWith("topic.partitions: not a Strawless setting, and Flink would ignore"
                + " it; did you mean topics.partitions?"), job.warnings().get(1));
        assertTrue(job.warnings().get(2).startsWith("pipeline.max-parallelism is not set, so Flink derives it from the"
                + " parallelism"), job.warnings().get(2));
    }

    /** The default, localhost, is never a cluster's broker; the preflight would only warn that none answers. */
    @Test
    void refusesToRunWithoutBootstrapServersNamingTheKeyAndWhereToSetIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                new String[] {"--execution.checkpointing.interval", "10s", "--pipeline.max-parallelism", "128"}));
        assertTrue(e.getMessage().startsWith("kafka.bootstrap-servers is not set, and its default (localhost:9092) is"
                + " never a cluster's broker: pass --kafka.bootstrap-servers host:port after the jar"), e.getMessage());
        assertTrue(e.getMessage().contains("under flink run the client's config.yaml"), e.getMessage());

        // Set in the configuration the entry point runs with (flink run -D, or the cluster's in application mode).
        Configuration flinkConfiguration = new Configuration();
        flinkConfiguration.setString("kafka.bootstrap-servers", "kafka:9092");
        flinkConfiguration.setString("execution.checkpointing.interval", "10s");
        ClusterJobMain.prepare(StreamExecutionEnvironment.getExecutionEnvironment(flinkConfiguration),
                new Configuration());
    }

    /**
     * Flink logs the program arguments one by one, hiding only those whose own words look secret: the value after
     * a password key would be logged. A config provider's reference passes.
     */
    @Test
    void aSecretGivenAsAProgramArgumentIsRefusedWithoutEchoingIt() {
        for (String key : List.of("kafka.client.ssl.key.password", "kafka.client.sasl.jaas.config",
                "kafka.client.ssl.keystore.key")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterJobMain.prepare(
                    new String[] {"--kafka.bootstrap-servers", "kafka:9092", "--execution.checkpointing.interval",
                            "10s", "--" + key, "hunter2"}));
            assertTrue(e.getMessage().startsWith("program argument --" + key + ": Flink logs program arguments"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("config.providers"), e.getMessage());
            assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        }
        ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092",
                "--execution.checkpointing.interval", "10s",
                "--kafka.client.config.providers", "file",
                "--kafka.client.config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
                "--kafka.client.ssl.key.password", "${file:/etc/secrets/kafka.properties:ssl.key.password}"});
    }

    @Test
    void refusesToRunWithoutCheckpointing() {
        assertThrows(IllegalArgumentException.class,
                () -> ClusterJobMain.prepare(new String[] {"--kafka.bootstrap-servers", "kafka:9092"}));
    }
}
