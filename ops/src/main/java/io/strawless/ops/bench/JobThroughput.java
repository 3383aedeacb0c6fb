package io.strawless.ops.bench;

import io.strawless.connectors.KafkaOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.TopicPartition;

/**
 * The contender: the Strawless job reading the preloaded records from the earliest offset, with exactly-once
 * sinks. Its window opens when the job's first record has been read (so the MiniCluster's start-up, which the
 * passthrough's clients do not have, is left out) and closes when its consumer group has committed every end
 * offset: its source commits on each completed checkpoint, so by then every record has been processed and
 * what the job made of it is committed or held in checkpointed state. Then the job is cancelled.
 */
final class JobThroughput {

    private JobThroughput() {}

    /**
     * @param profileFile where to write a JFR recording of the window, or null for none; its summary is printed
     */
    static Result run(
            Configuration jobConf,
            int parallelism,
            Map<TopicPartition, Long> ends,
            long steps,
            BenchKafka kafka,
            Progress progress,
            Path profileFile,
            PrintWriter out)
            throws Exception {
        String group = jobConf.get(KafkaOptions.GROUP_ID);
        try (JobRun job = JobRun.start(jobConf)) {
            progress.line("job p%d running; waiting for its first record", parallelism);
            while (job.recordsIn() == 0) {
                job.failIfEnded();
                Thread.sleep(20);
            }
            Profile profile = profileFile == null ? null : Profile.start();
            CpuWindow window = CpuWindow.open();
            kafka.awaitCaughtUp(group, ends, job::failIfEnded, progress, "job p" + parallelism);
            CpuWindow.Elapsed elapsed = window.close();
            Profile.Summary summary = null;
            if (profile != null) {
                summary = profile.stop(profileFile, 15);
                Profile.print(summary, out);
            }
            long batchedSteps = job.batchedSteps();
            long records = ends.values().stream().mapToLong(Long::longValue).sum();
            return new Result(
                    new Throughput(
                            "job",
                            parallelism,
                            steps,
                            records,
                            elapsed.seconds(),
                            elapsed.cpuSeconds(),
                            batchedSteps,
                            elapsed.threads()),
                    summary);
        }
    }

    /** A job run's figures, and its profile when one was recorded. */
    record Result(Throughput throughput, Profile.Summary profile) {}
}
