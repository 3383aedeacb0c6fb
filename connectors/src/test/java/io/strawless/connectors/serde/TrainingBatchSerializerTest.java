package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** The batch serializer writes Avro's own single-object bytes for every field of the schema, nulls included. */
class TrainingBatchSerializerTest {

    @Test
    void writesEveryFieldOfEveryRecordInTheSchemasOrder() {
        // A field added to TrainingBatch.avsc fails here until the serializer writes it (and the list names it).
        Schema batch = TrainingBatch.getClassSchema();
        Schema trajectory = batch.getField("trajectories").schema().getElementType();
        Schema step = trajectory.getField("steps").schema().getElementType();
        Schema range = batch.getField("lineage").schema().getElementType();
        for (Schema record : List.of(batch, trajectory, step, range)) {
            assertEquals(
                    record.getFields().stream().map(Schema.Field::name).toList(),
                    TrainingBatchSerializer.FIELDS.get(record.getName()),
                    record.getName());
        }
        assertEquals(4, TrainingBatchSerializer.FIELDS.size());
    }

    @Test
    void writesWhatAvrosOwnWriterWrites() throws Exception {
        TrainingBatchSerializer serializer = new TrainingBatchSerializer();
        SingleObjectSerializer<TrainingBatch> avro = new SingleObjectSerializer<>(TrainingBatch.class);
        avro.open(null);
        Random random = new Random(11);
        for (int i = 0; i < 500; i++) {
            TrainingBatch batch = randomBatch(random, i);
            byte[] written = serializer.serialize(batch);
            assertArrayEquals(avro.serialize(batch), written, "batch " + i);
            assertEquals(batch, TrainingBatch.fromByteBuffer(ByteBuffer.wrap(written)));
        }
        assertArrayEquals(avro.serialize(TestRecords.batch("b")), serializer.serialize(TestRecords.batch("b")));
    }

    /** Bit k of {@code i} nulls or empties the k-th optional part, so 256 batches cover every combination. */
    private static TrainingBatch randomBatch(Random random, int i) {
        int mask = i % 256;
        List<ScoredTrajectory> trajectories = new ArrayList<>();
        for (int t = (mask & 1) != 0 ? 0 : 1 + random.nextInt(4); t > 0; t--) {
            List<ScoredStep> steps = new ArrayList<>();
            for (int s = (mask & 2) != 0 ? 0 : 1 + random.nextInt(6); s > 0; s--) {
                List<Integer> tokens = new ArrayList<>();
                for (int k = i % 50 == 0 ? 400 : random.nextInt(4); k > 0; k--) {
                    tokens.add(random.nextInt());
                }
                steps.add(new ScoredStep(
                        random.nextInt(1000),
                        random.nextBoolean(),
                        random.nextGaussian(),
                        random.nextGaussian(),
                        (mask & 4) != 0 ? null : random.nextDouble(),
                        (mask & 8) != 0 ? null : random.nextDouble(),
                        (mask & 4) != 0 ? random.nextDouble() : null,
                        // Half as the codec decodes a step's tokens (no box per token): the same bytes either way.
                        (mask & 16) != 0 ? null : i % 2 == 0 ? tokens
                                : new PackedInts(tokens.stream().mapToInt(Integer::intValue).toArray()),
                        (mask & 32) != 0 ? null : "payload-" + random.nextInt(99),
                        random.nextLong(),
                        random.nextBoolean() ? null : random.nextGaussian()));
            }
            trajectories.add(new ScoredTrajectory(
                    "trajectory-" + random.nextInt(1000) + (i % 3 == 0 ? "-ünïcode-✓" : ""),
                    "agent-" + random.nextInt(10),
                    "task-" + random.nextInt(10),
                    (mask & 64) != 0 ? null : "group-" + random.nextInt(10),
                    random.nextDouble(),
                    random.nextBoolean(),
                    random.nextInt(3),
                    (mask & 64) != 0 ? random.nextDouble() : null,
                    steps,
                    random.nextBoolean(),
                    random.nextDouble(),
                    random.nextBoolean(),
                    random.nextBoolean(),
                    random.nextBoolean() ? null : random.nextInt(),
                    random.nextBoolean() ? null : 1 + random.nextInt(64),
                    random.nextBoolean() ? null : TerminalKind.values()[random.nextInt(TerminalKind.values().length)]));
        }
        List<OffsetRange> lineage = new ArrayList<>();
        for (int r = (mask & 128) != 0 ? 0 : 1 + random.nextInt(3); r > 0; r--) {
            lineage.add(new OffsetRange("agent.steps", random.nextInt(12), random.nextLong(), random.nextLong()));
        }
        Map<String, Double> reliability = new LinkedHashMap<>();
        for (int v = (mask & 128) != 0 ? 3 : 0; v > 0; v--) {
            reliability.put("verifier-" + v, random.nextDouble());
        }
        return new TrainingBatch(
                "batch-" + i,
                Instant.ofEpochMilli(1_700_000_000_000L + random.nextInt(1_000_000)),
                "grpo",
                Long.toHexString(random.nextLong()),
                random.nextBoolean() ? "java" : "opencl",
                random.nextLong(),
                random.nextLong(),
                lineage,
                trajectories,
                reliability);
    }
}
