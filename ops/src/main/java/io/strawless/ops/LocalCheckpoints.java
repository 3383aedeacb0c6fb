package io.strawless.ops;

import java.nio.file.Path;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;

/** Checkpoint storage for a job that the commands run on a local MiniCluster (demo, bench, backfill). */
public final class LocalCheckpoints {

    private LocalCheckpoints() {}

    /**
     * Points {@code execution.checkpointing.dir} at {@code directory} unless {@code conf} names one already.
     * Without a directory checkpoints go to the JobManager's memory, which refuses more than 5 MB of state per
     * task: a few tens of thousands of trajectories (each leaves a marker for job.finished-retention) are more
     * than that, and the job fails at its first checkpoint.
     */
    public static void defaultDirectory(Configuration conf, Path directory) {
        if (!conf.contains(CheckpointingOptions.CHECKPOINTS_DIRECTORY)) {
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, directory.toUri().toString());
        }
    }
}
