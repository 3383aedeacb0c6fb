package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.CommittedRecords;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.ReadableConfig;

/**
 * What a finished backfill wrote, counted the way a trainer reads it (read_committed), one record at a time:
 * a backfill's output may be far larger than memory.
 *
 * @param estimators       the estimator and configuration fingerprint of the batches, as
 *                         {@code estimator fingerprint}: one entry unless the topic was shared
 * @param unscoredByReason unscored trajectories by reason
 */
public record OutputTally(
        long batches,
        long trajectories,
        long steps,
        SortedSet<String> estimators,
        long deadLetters,
        SortedMap<String, Long> unscoredByReason) {

    public long unscored() {
        return unscoredByReason.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Counts the output topics configured in {@code conf}. Call it once the job has ended. */
    public static OutputTally read(ReadableConfig conf) throws ExecutionException, InterruptedException {
        String batchesTopic = conf.get(KafkaOptions.BATCHES_TOPIC);
        String deadLettersTopic = conf.get(KafkaOptions.DEAD_LETTERS_TOPIC);
        String unscoredTopic = conf.get(KafkaOptions.UNSCORED_TOPIC);
        Counts counts = new Counts();
        CommittedRecords.forEach(conf, conf.get(KafkaOptions.GROUP_ID) + "-tally",
                List.of(batchesTopic, deadLettersTopic, unscoredTopic), record -> {
                    if (record.topic().equals(batchesTopic)) {
                        TrainingBatch batch = decode(record.value(), TrainingBatch::fromByteBuffer);
                        counts.batches++;
                        counts.trajectories += batch.getTrajectories().size();
                        for (ScoredTrajectory trajectory : batch.getTrajectories()) {
                            counts.steps += trajectory.getSteps().size();
                        }
                        counts.estimators.add(batch.getEstimator() + " " + batch.getConfigFingerprint());
                    } else if (record.topic().equals(deadLettersTopic)) {
                        counts.deadLetters++;
                    } else {
                        counts.unscoredByReason.merge(decode(record.value(), UnscoredTrajectory::fromByteBuffer)
                                .getReason().name(), 1L, Long::sum);
                    }
                });
        return new OutputTally(counts.batches, counts.trajectories, counts.steps, counts.estimators, counts.deadLetters,
                counts.unscoredByReason);
    }

    private static final class Counts {
        long batches;
        long trajectories;
        long steps;
        final SortedSet<String> estimators = new TreeSet<>();
        long deadLetters;
        final SortedMap<String, Long> unscoredByReason = new TreeMap<>();
    }

    private interface Decoder<T> {
        T decode(ByteBuffer bytes) throws IOException;
    }

    private static <T> T decode(byte[] value, Decoder<T> decoder) {
        try {
            return decoder.decode(ByteBuffer.wrap(value));
        } catch (IOException e) {
            throw new UncheckedIOException("a record of the backfill's output does not decode", e);
        }
    }
}
