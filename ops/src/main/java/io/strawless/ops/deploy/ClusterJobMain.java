package io.strawless.ops.deploy;

import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessJob;
import io.strawless.pipeline.StrawlessOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * Entry point of the shaded job jar for {@code flink run}. Settings come from the cluster's Flink
 * configuration and from program arguments {@code --key value} (program arguments win), with the same keys
 * as everywhere else, checked as on the command line (a misspelt Strawless key stops the job before it
 * starts), e.g.:
 *
 * <pre>
 * flink run strawless-job.jar --kafka.bootstrap-servers kafka:9092 --execution.checkpointing.interval 10s
 * </pre>
 */
public final class ClusterJobMain {

    private ClusterJobMain() {}

    public static void main(String[] args) throws Exception {
        Job job = prepare(args);
        job.env().execute(job.name());
    }

    /** The environment with the whole job added, and the job's name. */
    record Job(StreamExecutionEnvironment env, String name) {}

    static Job prepare(String[] args) {
        Configuration programArguments = ParameterTool.fromArgs(args).getConfiguration();
        // Before the environment is made: Flink refuses a short interval there, in words that name no key.
        StrawlessJob.requireCheckpointInterval(programArguments);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(programArguments);
        // The job reads its own keys (kafka.*, topics.*, job.*, ...) from one configuration: the cluster's,
        // overridden by the program arguments.
        Configuration conf = Configuration.fromMap(env.getConfiguration().toMap());
        conf.addAll(programArguments);
        // Keys outside the Strawless namespaces are checked only where this job's arguments give them: the cluster's
        // configuration may hold keys meant for other jobs.
        StrawlessJob.buildOnKafka(env, StrawlessOptions.checked(conf, programArguments.keySet()));
        return new Job(env, conf.get(JobOptions.JOB_NAME));
    }
}
