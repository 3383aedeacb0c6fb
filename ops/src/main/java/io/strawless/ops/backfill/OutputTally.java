package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.CommittedRecords;
import io.strawless.ops.demo.Reconciliation;
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
 * a backfill's output may be far larger than memory. It counts the input records the batches and the unscored
 * trajectories stand for as the job's books count them leaving that way, so that the two can be compared.
 *
 * @param steps            the steps of the batches' trajectories
 * @param outcomes         the outcomes the batches' trajectories were scored with: one each, but none for a
 *                         trajectory scored without its outcome ({@code outcome_timed_out})
 * @param estimators       the estimator and configuration fingerprint of the batches, as
 *                         {@code estimator fingerprint}: one entry unless the topic was shared
 * @param unscoredByReason unscored trajectories by reason
 * @param unscoredInputs   the input records the unscored trajectories carry
 */
public record OutputTally(
        long batches,
        long trajectories,
        long steps,
        long outcomes,
        SortedSet<String> estimators,
        long deadLetters,
        SortedMap<String, Long> unscoredByReason,
        UnscoredInputs unscoredInputs) {

    /**
     * The input records of the unscored topic's trajectories, by kind: of a LATE_REVISION only the late revision
     * ({@link Reconciliation#outcomesUnscored}).
     *
     * @param recordsWithoutInputs unscored trajectories that went out without their steps, outcomes and verdicts
     *                             (over {@code kafka.max-record-bytes} even without their token ids: the detail
     *                             says how many they had); the inputs they stand for are not in the counts
     */
    public record UnscoredInputs(long steps, long outcomes, long verdicts, long recordsWithoutInputs) {}

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
                            counts.outcomes += trajectory.getOutcomeTimedOut() ? 0 : 1;
                        }
                        counts.estimators.add(batch.getEstimator() + " " + batch.getConfigFingerprint());
                    } else if (record.topic().equals(deadLettersTopic)) {
                        counts.deadLetters++;
                    } else {
                        counts.unscored(decode(record.value(), UnscoredTrajectory::fromByteBuffer));
                    }
                });
        return new OutputTally(counts.batches, counts.trajectories, counts.steps, counts.outcomes, counts.estimators,
                counts.deadLetters, counts.unscoredByReason, new UnscoredInputs(counts.unscoredSteps,
                        counts.unscoredOutcomes, counts.unscoredVerdicts, counts.unscoredWithoutInputs));
    }

    private static final class Counts {
        long batches;
        long trajectories;
        long steps;
        long outcomes;
        final SortedSet<String> estimators = new TreeSet<>();
        long deadLetters;
        final SortedMap<String, Long> unscoredByReason = new TreeMap<>();
        long unscoredSteps;
        long unscoredOutcomes;
        long unscoredVerdicts;
        long unscoredWithoutInputs;

        void unscored(UnscoredTrajectory unscored) {
            unscoredByReason.merge(unscored.getReason().name(), 1L, Long::sum);
            if (unscored.getSteps().isEmpty() && unscored.getOutcomes().isEmpty() && unscored.getVerdicts().isEmpty()) {
                // A trajectory holds at least the input that opened it: none at all, and the sink left them out.
                unscoredWithoutInputs++;
                return;
            }
            unscoredSteps += unscored.getSteps().size();
            unscoredOutcomes += Reconciliation.outcomesUnscored(unscored);
            unscoredVerdicts += unscored.getVerdicts().size();
        }
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
