package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The bound the scoring stage closes batches by is never below what the serializer writes: a batch it lets through
 * fits kafka.max-record-bytes. Checked against the real writer on random steps, every optional field both ways.
 */
class BatchSizeBoundTest {

    private static final Random RANDOM = new Random(7);

    @Test
    void theBoundOfDecodedStepsIsExactAndThatOfEncodedStepsAtMostAFewBytesAStepMore() throws Exception {
        StepEventCodec codec = new StepEventCodec();
        for (int i = 0; i < 400; i++) {
            String trajectoryId = id(i, "trajectory");
            List<StepEvent> steps = new ArrayList<>();
            for (int s = i % 7 == 0 ? 0 : 1 + RANDOM.nextInt(8); s > 0; s--) {
                steps.add(step(trajectoryId, steps.size(), i));
            }
            List<byte[]> encoded = new ArrayList<>();
            for (StepEvent step : steps) {
                encoded.add(codec.encode(step));
            }
            String groupId = i % 2 == 0 ? null : id(i, "group");
            int revision = RANDOM.nextInt(100_000);
            boolean processRewards = i / 2 % 2 == 0;
            ScoredTrajectory scored = scored(trajectoryId, groupId, revision, steps, processRewards);

            long exact = trajectoryBytes(scored);
            long decodedBound = TrainingBatchSerializer.trajectoryBytesBound(trajectoryId, "agent-é", "task-1", groupId,
                    revision, steps, processRewards);
            long encodedBound = TrainingBatchSerializer.trajectoryBytesBound(trajectoryId, "agent-é", "task-1", groupId,
                    revision, new EncodedSteps(encoded), processRewards);

            assertEquals(exact, decodedBound, "trajectory " + i);
            // Steps as the codec decodes them (token ids unboxed, PackedInts) count the same.
            assertEquals(exact, TrainingBatchSerializer.trajectoryBytesBound(trajectoryId, "agent-é", "task-1",
                    groupId, revision, List.copyOf(new EncodedSteps(encoded)), processRewards), "trajectory " + i);
            assertTrue(encodedBound >= exact, "trajectory " + i + ": " + encodedBound + " < " + exact);
            // What the bound counts besides the exact size: the dropped fields beyond a byte each, per step.
            long dropped = 0;
            for (StepEvent step : steps) {
                dropped += droppedFieldBytes(step) - 6;
            }
            assertEquals(exact + dropped, encodedBound, "trajectory " + i);
        }
    }

    @Test
    void aWholeBatchIsNeverLargerThanItsBound() {
        TrainingBatchSerializer serializer = new TrainingBatchSerializer();
        for (int i = 0; i < 200; i++) {
            List<ScoredTrajectory> trajectories = new ArrayList<>();
            List<OffsetRange> lineage = new ArrayList<>();
            long bound = 0;
            boolean processRewards = i % 2 == 0;
            for (int t = i % 10 == 0 ? 0 : 1 + RANDOM.nextInt(20); t > 0; t--) {
                String trajectoryId = id(i * 100 + t, "trajectory");
                List<StepEvent> steps = new ArrayList<>();
                for (int s = 1 + RANDOM.nextInt(5); s > 0; s--) {
                    steps.add(step(trajectoryId, steps.size(), i));
                }
                trajectories.add(scored(trajectoryId, "g", 0, steps, processRewards));
                bound += TrainingBatchSerializer.trajectoryBytesBound(trajectoryId, "agent-é", "task-1", "g", 0, steps,
                        processRewards);
                OffsetRange range = new OffsetRange("agent.steps", RANDOM.nextInt(4), (long) RANDOM.nextInt(1 << 30),
                        RANDOM.nextLong() & Long.MAX_VALUE);
                bound += TrainingBatchSerializer.offsetRangeBytes(range);
                lineage.add(range);
            }
            Map<String, Double> reliability = new TreeMap<>();
            int verifiers = RANDOM.nextInt(64);
            for (int v = 0; v < verifiers; v++) {
                reliability.put("v".repeat(1 + RANDOM.nextInt(255)) + v, RANDOM.nextDouble());
            }
            String fingerprint = Long.toHexString(RANDOM.nextLong());
            TrainingBatch batch = new TrainingBatch("0f8fad5b-d9cb-469f-a165-70867728950e",
                    Instant.ofEpochMilli(Long.MAX_VALUE / 2), "reinforce_pp", fingerprint, "opencl", Long.MIN_VALUE,
                    Long.MAX_VALUE, lineage, trajectories, reliability);
            bound += TrainingBatchSerializer.envelopeBytesBound("reinforce_pp", fingerprint, "opencl", 63, 260);

            int written = serializer.serialize(batch).length;
            assertTrue(written <= bound, "batch " + i + ": " + written + " bytes, bound " + bound);
        }
    }

    /** A trajectory's bytes in a batch: the batch with it less the batch without, less its array item framing. */
    private static long trajectoryBytes(ScoredTrajectory trajectory) {
        TrainingBatchSerializer serializer = new TrainingBatchSerializer();
        TrainingBatch without = new TrainingBatch("b", Instant.EPOCH, "grpo", "f", "java", 0L, 0L, List.of(),
                List.of(), Map.of());
        TrainingBatch with = TrainingBatch.newBuilder(without).setTrajectories(List.of(trajectory)).build();
        return serializer.serialize(with).length - serializer.serialize(without).length - 1; // the count of 1
    }

    /**
     * What the scoring stage writes for these steps (TrainingBatches.scored), with a baseline, a scoring unit's id and
     * size that take the most bytes an int can, and, where {@code processRewards}, a process reward on every step.
     */
    private static ScoredTrajectory scored(String trajectoryId, String groupId, int revision, List<StepEvent> steps,
            boolean processRewards) {
        List<ScoredStep> scored = new ArrayList<>();
        for (StepEvent e : steps) {
            scored.add(new ScoredStep(e.getStepIndex(), e.getTrainable(), RANDOM.nextGaussian(), RANDOM.nextGaussian(),
                    e.getReward(), e.getValue(), e.getLogprob(), e.getTokenIds(), e.getPayloadRef(),
                    e.getPolicyVersion(), processRewards ? RANDOM.nextGaussian() : null));
        }
        return new ScoredTrajectory(trajectoryId, "agent-é", "task-1", groupId, 1.0, true, revision, 0.25, scored,
                false, 1.0, false, false, Integer.MIN_VALUE, Integer.MAX_VALUE, TerminalKind.TRUNCATED);
    }

    private static StepEvent step(String trajectoryId, int index, int i) {
        List<Integer> tokens = new ArrayList<>();
        for (int k = RANDOM.nextInt(i % 5 == 0 ? 2_000 : 20); k > 0; k--) {
            tokens.add(k % 3 == 0 ? RANDOM.nextInt() : RANDOM.nextInt(150_000));
        }
        boolean full = RANDOM.nextBoolean();
        return StepEvent.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setStepIndex(index * (i % 3 == 0 ? 1_000 : 1))
                .setAgentId("agent-é")
                .setTaskId("task-1")
                .setGroupId(full ? id(i, "group") : null)
                .setGroupSize(full ? RANDOM.nextInt(64) : null)
                .setPolicyVersion(RANDOM.nextBoolean() ? RANDOM.nextLong() : RANDOM.nextInt(10))
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + RANDOM.nextInt(1_000_000)))
                .setTrainable(RANDOM.nextBoolean())
                .setValue(full ? RANDOM.nextDouble() : null)
                .setReward(RANDOM.nextBoolean() ? -RANDOM.nextDouble() : null)
                .setLogprob(full ? null : RANDOM.nextDouble())
                .setTokenIds(RANDOM.nextInt(4) == 0 ? null : tokens)
                .setPayloadRef(RANDOM.nextBoolean() ? "s3://bucket/ü/" + RANDOM.nextInt() : null)
                .setObservationKey(full ? "obs-" + RANDOM.nextInt(1000) : null)
                .setTerminal(full ? TerminalKind.TRUNCATED : TerminalKind.NONE)
                .setBootstrapValue(full ? RANDOM.nextDouble() : null)
                .build();
    }

    /** The encoded bytes of the StepEvent fields a ScoredStep drops, besides the three leading ids. */
    private static int droppedFieldBytes(StepEvent step) {
        return AvroBinary.nullableStringBytes(step.getGroupId())
                + (step.getGroupSize() == null ? 1 : 1 + AvroBinary.varintBytes(step.getGroupSize()))
                + AvroBinary.varintBytes(step.getEventTime().toEpochMilli())
                + AvroBinary.nullableStringBytes(step.getObservationKey())
                + AvroBinary.varintBytes(step.getTerminal().ordinal())
                + AvroBinary.nullableDoubleBytes(step.getBootstrapValue());
    }

    /** Ids of every width: ASCII, two- and three-byte characters, and a pair of surrogates. */
    private static String id(int i, String prefix) {
        return switch (i % 4) {
            case 0 -> prefix + "-" + i;
            case 1 -> prefix + "-ünï-" + i;
            case 2 -> prefix + "-✓✓-" + i;
            default -> prefix + "-\uD83D\uDE00-" + i;
        };
    }
}
