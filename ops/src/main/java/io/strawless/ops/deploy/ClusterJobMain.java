package io.strawless.ops.deploy;

import io.strawless.connectors.KafkaOptions;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessJob;
import io.strawless.pipeline.StrawlessOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the shaded job jar for {@code flink run} and application mode. Settings come from the Flink
 * configuration this entry point runs with and from program arguments {@code --key value} (program arguments win),
 * with the same keys as everywhere else, checked as on the command line (a misspelt Strawless key stops the job
 * before it starts). Under {@code flink run} the entry point runs in the client, so that configuration is the
 * client's (the config.yaml of the Flink installation that runs {@code flink run}) with its {@code -Dkey=value}, not
 * a session cluster's own; in application mode it runs in the JobManager, with the cluster's configuration (e.g.
 * {@code FlinkDeployment.spec.flinkConfiguration}). {@code kafka.bootstrap-servers} must be set, e.g.:
 *
 * <pre>
 * flink run strawless-job.jar --kafka.bootstrap-servers kafka:9092 --execution.checkpointing.interval 10s \
 *     --execution.checkpointing.dir s3://bucket/checkpoints
 * </pre>
 *
 * <p>Before it submits the job it checks the Kafka cluster ({@link KafkaPreflight}, {@code kafka.check-before-start}):
 * on a cluster, what the job cannot run with would otherwise restart it without end.
 */
public final class ClusterJobMain {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterJobMain.class);

    /** What ParameterTool stores for a flag given without a value. */
    private static final String NO_VALUE = "__NO_VALUE_KEY";

    private ClusterJobMain() {}

    public static void main(String[] args) throws Exception {
        Job job = prepare(args);
        job.warnings().forEach(LOG::warn);
        if (job.conf().get(KafkaOptions.CHECK_BEFORE_START)) {
            KafkaPreflight.check(job.conf()).forEach(LOG::warn);
        }
        job.env().execute(job.name());
    }

    /** The environment with the whole job added, its name, its settings, and what looked wrong but may run. */
    record Job(StreamExecutionEnvironment env, String name, Configuration conf, List<String> warnings) {}

    static Job prepare(String[] args) {
        for (String arg : args) {
            if (arg.startsWith("-") && arg.contains("=")) {
                // ParameterTool takes "--k=v" (or "-Dk=v" after the jar) for a key "k=v" with no value, which no
                // check would then name: the setting would be dropped without a word.
                throw new IllegalArgumentException("program argument " + arg + ": give a setting as two arguments,"
                        + " --key value (flink run takes -Dkey=value only before the jar)");
            }
        }
        Configuration programArguments = ParameterTool.fromArgs(args).getConfiguration();
        programArguments.toMap().forEach((key, value) -> {
            if (NO_VALUE.equals(value)) {
                throw new IllegalArgumentException("program argument --" + key + " has no value: --" + key + " value"
                        + " (a value may not begin with '-' unless it is a number)");
            }
            requireNoSecret(key, value);
        });
        // Before the environment is made: Flink refuses a short interval there, in words that name no key.
        StrawlessJob.requireCheckpointInterval(programArguments);
        return prepare(StreamExecutionEnvironment.getExecutionEnvironment(programArguments), programArguments);
    }

    /**
     * Refuses a secret given as a program argument: Flink logs the program arguments one by one as the entry point
     * starts, hiding an argument only where its own words look secret, so the value after {@code
     * --kafka.client.ssl.key.password} is written to the log as it is. A reference to a Kafka config provider ({@code
     * ${file:/path:key}}) passes: the client resolves it, and the log holds only the reference. The message names the
     * key, never the value. (Flink's configuration file hides only keys whose names look secret, which {@code
     * ssl.keystore.key} does not: a config provider is the one way that keeps every secret out of the logs.)
     */
    static void requireNoSecret(String key, String value) {
        if (KafkaOptions.isClientSecret(key) && !value.startsWith("${")) {
            String clientKey = key.substring(KafkaOptions.CLIENT_PREFIX.length());
            throw new IllegalArgumentException("program argument --" + key + ": Flink logs program arguments as they"
                    + " are given, so this secret would be in the log; give a Kafka config provider reference instead"
                    + " (--" + KafkaOptions.CLIENT_PREFIX + "config.providers file --" + KafkaOptions.CLIENT_PREFIX
                    + "config.providers.file.class org.apache.kafka.common.config.provider.FileConfigProvider --"
                    + key + " '${file:/etc/secrets/kafka.properties:" + clientKey + "}')");
        }
    }

    /**
     * {@link #prepare(String[])} in {@code env}, whose configuration is the one the entry point runs with: the
     * client's and flink run's -D, or in application mode the cluster's.
     *
     * @throws IllegalArgumentException naming the key, where {@code kafka.bootstrap-servers} is not set or the job
     *     refuses a setting
     */
    static Job prepare(StreamExecutionEnvironment env, Configuration programArguments) {
        // The job reads its own keys (kafka.*, topics.*, job.*, ...) from one configuration: the environment's,
        // overridden by the program arguments.
        Configuration conf = Configuration.fromMap(env.getConfiguration().toMap());
        conf.addAll(programArguments);
        requireBootstrapServers(conf);
        // Keys outside the Strawless namespaces are refused only where this job's arguments give them: the Flink
        // configuration (and flink run's -D, which lands in it) may hold keys meant for other jobs, so there the
        // doubtful ones are logged.
        StrawlessJob.buildOnKafka(env, StrawlessOptions.checked(conf, programArguments.keySet()));
        // checked refused those among the program arguments: these came from elsewhere.
        List<String> warnings = new ArrayList<>(StrawlessOptions.doubtfulKeys(conf));
        checkpointStorageUnseen(conf).ifPresent(warnings::add);
        if (conf.getOptional(PipelineOptions.MAX_PARALLELISM).isEmpty()) {
            warnings.add(PipelineOptions.MAX_PARALLELISM.key() + " is not set, so Flink derives it from the parallelism"
                    + " (" + StrawlessJob.maxParallelism(env) + " now), and a savepoint keeps it for good: set it before"
                    + " the first deployment to the most the job will ever be scaled to (e.g. 128), or a rescale past"
                    + " 85 leaves some scoring subtasks several batching buckets and others none");
        }
        return new Job(env, conf.get(JobOptions.JOB_NAME), conf, warnings);
    }

    /**
     * Refuses a configuration without {@code kafka.bootstrap-servers}: its default, localhost, is never the broker of a
     * job on a cluster, and the preflight only warns where no broker answers (it must not fail a JobManager's
     * recovery), so the job would start and never reach one. The commands keep the default, for a broker nearby.
     */
    private static void requireBootstrapServers(Configuration conf) {
        if (conf.getOptional(KafkaOptions.BOOTSTRAP_SERVERS).isEmpty()) {
            String key = KafkaOptions.BOOTSTRAP_SERVERS.key();
            throw new IllegalArgumentException(key + " is not set, and its default ("
                    + KafkaOptions.BOOTSTRAP_SERVERS.defaultValue() + ") is never a cluster's broker: pass --" + key
                    + " host:port after the jar, or -D" + key + "=host:port before it (flink run), or set it in the"
                    + " Flink configuration this entry point reads: under flink run the client's config.yaml, not"
                    + " the session cluster's; in application mode the cluster's (FlinkDeployment.spec"
                    + ".flinkConfiguration)");
        }
    }

    /**
     * Why the checkpoint storage may be the JobManager's memory, or empty. That storage refuses more than 5 MB of state
     * per task, so checkpoints fail once traffic grows (and with them every batch, which commits at a checkpoint), and
     * a JobManager that fails loses the state. A warning, not a refusal: under {@code flink run} this configuration is
     * the client's, and a session cluster's own may set the storage.
     */
    static Optional<String> checkpointStorageUnseen(Configuration conf) {
        if (conf.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY).isPresent()
                || conf.getOptional(CheckpointingOptions.CHECKPOINT_STORAGE).isPresent()) {
            return Optional.empty();
        }
        return Optional.of(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key() + " is not set here: unless the cluster's"
                + " own configuration sets it, Flink keeps the job's checkpoints in the JobManager's memory (at most 5 MB"
                + " of state per task, lost with the JobManager), and checkpoints, and with them the batches, fail once"
                + " the state grows; pass --" + CheckpointingOptions.CHECKPOINTS_DIRECTORY.key() + " s3://...");
    }
}
