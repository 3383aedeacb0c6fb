package io.strawless.ops.bench;

import io.strawless.ops.demo.JobMetrics;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.Ledger;
import io.strawless.pipeline.StrawlessJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.minicluster.MiniClusterJobClient;
import org.apache.flink.runtime.minicluster.MiniClusterJobClient.JobFinalizationBehavior;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;

/**
 * The Strawless job running on the bench's cluster, with its ledger counters at hand. Closing it cancels the job:
 * the bench measures how fast it reads and commits, and needs no final drain. A restart spoils a measurement (the
 * restored attempt reads records again), so it counts as a failure here.
 */
final class JobRun implements AutoCloseable {

    private static final Duration STOP_TIMEOUT = Duration.ofMinutes(1);
    /**
     * How often {@link #failIfEnded} asks the cluster for the job's status. Not at every poll of the counters (every
     * 5 ms): the MiniCluster answers a status request by building an archived copy of the whole execution graph on
     * the JobMaster's RPC thread (deserializing its execution config each time), which, asked 200 times a second, cost
     * as much CPU as 2% of the job's own threads took (JFR of the bench, 2026-11-27), charged to the job.
     */
    private static final long STATUS_EVERY_NANOS = Duration.ofMillis(250).toNanos();

    private final JobMetrics metrics;
    private final JobClient client;
    private long nextStatusCheck = System.nanoTime();

    private JobRun(JobMetrics metrics, JobClient client) {
        this.metrics = metrics;
        this.client = client;
    }

    /** Starts the job with {@code conf} on {@code cluster} and returns once it runs. */
    static JobRun start(BenchCluster cluster, Configuration conf) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        StrawlessJob.buildOnKafka(env, conf);
        StreamGraph job = env.getStreamGraph();
        job.setJobName(conf.get(JobOptions.JOB_NAME));
        JobID id = cluster.miniCluster().submitJob(job).get().getJobID();
        JobClient client = new MiniClusterJobClient(
                id, cluster.miniCluster(), JobRun.class.getClassLoader(), JobFinalizationBehavior.NOTHING);
        JobRun run = new JobRun(cluster.metrics(), client);
        try {
            while (run.client.getJobStatus().get() != JobStatus.RUNNING) {
                run.failIfEnded();
                Thread.sleep(100);
            }
        } catch (Exception e) {
            run.close();
            throw e;
        }
        return run;
    }

    /** Input records the job has read so far (its ledger's "in" counters). */
    long recordsIn() {
        return metrics.books(client.getJobID()).stream()
                .mapToLong(JobMetrics.Book::in)
                .sum();
    }

    /** Records of the steps topic the job has read so far (its ledger's steps "in" counters). */
    long stepRecordsIn() {
        return metrics.books(client.getJobID()).stream()
                .filter(book -> book.input().equals(Ledger.metricName(Ledger.Kind.STEPS)))
                .mapToLong(JobMetrics.Book::in)
                .sum();
    }

    /** Checkpoints the job has completed so far. */
    long completedCheckpoints() {
        return metrics.completedCheckpoints(client.getJobID());
    }

    /** Steps the job has put into batches so far. */
    long batchedSteps() {
        return metrics.books(client.getJobID()).stream()
                .filter(book -> book.input().equals(Ledger.metricName(Ledger.Kind.STEPS)))
                .mapToLong(JobMetrics.Book::batched)
                .sum();
    }

    /**
     * Throws the job's failure if it ended or restarted. Its status is asked for at most every
     * {@link #STATUS_EVERY_NANOS}, so a job that ended is noticed that much later.
     */
    void failIfEnded() throws Exception {
        if (metrics.restarts(client.getJobID()) > 0) {
            throw new IllegalStateException("the job failed and restarted, which spoils the measurement; its failure is"
                    + " logged by org.apache.flink.runtime.executiongraph at INFO");
        }
        long now = System.nanoTime();
        if (now - nextStatusCheck < 0) {
            return;
        }
        nextStatusCheck = now + STATUS_EVERY_NANOS;
        JobStatus status = client.getJobStatus().get();
        if (status.isGloballyTerminalState()) {
            client.getJobExecutionResult().get(); // throws the job's failure
            throw new IllegalStateException("the job ended: " + status);
        }
    }

    /**
     * Bytes of a savepoint of the job's current state, in Flink's canonical format (the state as a checkpoint
     * holds it). Retried while Flink declines, as it does while tasks are still starting.
     */
    long savepointBytes(Path directory) throws Exception {
        long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
        while (true) {
            try {
                String savepoint = client.triggerSavepoint(directory.toUri().toString(), SavepointFormatType.CANONICAL)
                        .get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                try (Stream<Path> files = Files.walk(Path.of(java.net.URI.create(savepoint)))) {
                    return files.filter(Files::isRegularFile)
                            .mapToLong(file -> file.toFile().length())
                            .sum();
                }
            } catch (ExecutionException declined) {
                failIfEnded();
                if (System.nanoTime() > deadline) {
                    throw declined;
                }
                Thread.sleep(500);
            }
        }
    }

    /** Cancels the job and waits until it has ended (a failed job is not news here: runs check as they go). */
    @Override
    public void close() throws Exception {
        try {
            client.cancel().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException endedAlready) {
            // Nothing left to cancel.
        }
        try {
            client.getJobExecutionResult().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException cancelled) {
            // How a cancelled job ends.
        }
    }
}
