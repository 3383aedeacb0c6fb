package io.strawless.ops.bench;

import io.strawless.ops.demo.JobMetrics;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * One local Flink cluster that runs every job of a bench, one after another, as a long-running session cluster
 * would, with the jobs' ledger counters at hand.
 *
 * <p>Why not a MiniCluster per job, as {@code executeAsync} starts: each one loads Flink's RPC system (Pekko,
 * Scala, Typesafe Config) into a class loader of its own, the JIT compiler compiles all of it again, and it did so
 * inside the measured windows of both contenders: a fifth of the CPU in every run, however long the warm-up.
 */
final class BenchCluster implements AutoCloseable {

    private final MiniCluster cluster;
    private final JobMetrics metrics;

    private BenchCluster(MiniCluster cluster, JobMetrics metrics) {
        this.cluster = cluster;
        this.metrics = metrics;
    }

    /** Starts a cluster of one task manager with {@code slots} slots (a job at parallelism p takes p). */
    static BenchCluster start(Configuration conf, int slots) throws Exception {
        Configuration clusterConf = new Configuration(conf);
        JobMetrics metrics = JobMetrics.attachTo(clusterConf);
        if (!clusterConf.contains(RestOptions.BIND_PORT)) {
            clusterConf.set(RestOptions.BIND_PORT, "0"); // any free port: benches may run side by side
        }
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(clusterConf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(slots)
                .build());
        try {
            cluster.start();
        } catch (Exception e) {
            metrics.close();
            throw e;
        }
        return new BenchCluster(cluster, metrics);
    }

    MiniCluster miniCluster() {
        return cluster;
    }

    /** The books of every job the cluster ran, by job id. */
    JobMetrics metrics() {
        return metrics;
    }

    @Override
    public void close() throws Exception {
        try {
            cluster.close();
        } finally {
            metrics.close();
        }
    }
}
