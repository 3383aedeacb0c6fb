package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.overTheNetwork;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.terminalStep;
import static io.strawless.pipeline.Events.verdict;
import static io.strawless.pipeline.RoundTrip.roundTrip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StringKeys;
import io.strawless.pipeline.assembly.AssemblyProgress.Phase;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.formats.avro.typeutils.AvroSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The assembler's progress and markers are read back whole, and a savepoint of an earlier release (the layout
 * Flink's POJO serializer wrote, or format version 1 of the progress) is migrated on the heap and on RocksDB: its
 * open trajectory completes and its marker still routes a straggler.
 */
class AssemblyStateSerializersTest {

    private static final long OUTCOME_TIMEOUT = JobOptions.OUTCOME_TIMEOUT.defaultValue().toMillis();

    private static void assertSameProgress(AssemblyProgress expected, AssemblyProgress actual) {
        assertEquals(expected.distinctSteps(), actual.distinctSteps());
        assertArrayEquals(expected.receivedSteps(), actual.receivedSteps());
        assertEquals(expected.maxIndex(), actual.maxIndex());
        assertEquals(expected.terminalIndex(), actual.terminalIndex());
        assertArrayEquals(expected.trajectoryFields(), actual.trajectoryFields());
        assertArrayEquals(expected.encodedOutcome(), actual.encodedOutcome());
        assertEquals(expected.verdictCount(), actual.verdictCount());
        assertEquals(expected.latestEventTime(), actual.latestEventTime());
        assertEquals(expected.phase(), actual.phase());
        assertEquals(expected.deadline(), actual.deadline());
        assertEquals(expected.timer(), actual.timer());
        assertEquals(expected.lineage().ranges(), actual.lineage().ranges());
    }

    private static void assertSameMarker(FinishedTrajectory expected, FinishedTrajectory actual) {
        assertArrayEquals(expected.encodedOutcome(), actual.encodedOutcome());
        assertEquals(expected.forgetAt(), actual.forgetAt());
    }

    /** Progress as inputs build it: steps anywhere below 200 (several bit words), outcomes, lineage of 1-3 topics. */
    private static AssemblyProgress randomProgress(Random random) {
        AssemblyProgress p = AssemblyProgress.EMPTY;
        int inputs = random.nextInt(12);
        for (int i = 0; i < inputs; i++) {
            switch (random.nextInt(3)) {
                case 0 -> {
                    int index = random.nextInt(200);
                    if (!p.hasStep(index)) {
                        p = p.withStep(index, random.nextInt(5) == 0);
                    }
                    if (p.trajectoryFields() == null) {
                        byte[] fields = new byte[random.nextInt(40)];
                        random.nextBytes(fields);
                        p = p.withTrajectoryFields(fields);
                    }
                }
                case 1 -> p = p.withOutcome(outcome("t", random.nextDouble(), random.nextInt(3), random.nextInt(1_000)));
                default -> p = p.withVerdict();
            }
            String topic = List.of("agent.steps", "agent.outcomes", "agent.verdicts-é").get(random.nextInt(3));
            p = p.withInput(topic, random.nextInt(4), random.nextLong(1L << 40)).withEventTime(random.nextLong());
        }
        if (random.nextBoolean()) {
            Phase phase = Phase.values()[random.nextInt(Phase.values().length)];
            long deadline = random.nextLong();
            p = p.withDeadline(phase, deadline).withTimer(random.nextBoolean() ? deadline : Long.MIN_VALUE);
        }
        return p;
    }

    @Test
    void verdictsAreWrittenAsFlinkAvrosSerializerWritesThemAndReadEitherWay() throws Exception {
        // The verdicts' state was flink-avro's AvroSerializer: the same bytes, so savepoints restore in either
        // direction (EarlierReleaseStateTest restores a frozen one with a verdict in it).
        AvroSerializer<VerifierSignal> avro = new AvroSerializer<>(VerifierSignal.class);
        AssemblyStateSerializers.OfVerdict ours = AssemblyStateSerializers.OfVerdict.INSTANCE;
        Random random = new Random(47);
        String[] ids = {"", "traj-1", "ünï-✓", "\ud83d\ude00 emoji", "x".repeat(300)};
        for (int i = 0; i < 400; i++) {
            VerifierSignal verdict = new VerifierSignal(ids[random.nextInt(ids.length)],
                    i % 3 == 0 ? null : random.nextInt(), ids[random.nextInt(ids.length)], random.nextGaussian(),
                    i % 4 == 0 ? null : i % 4 == 1 ? Double.longBitsToDouble(0x7ff8_0000_0000_0001L) // a NaN with a payload
                            : random.nextDouble(), Instant.ofEpochMilli(random.nextLong() >> 20));
            DataOutputSerializer byAvro = new DataOutputSerializer(64);
            avro.serialize(verdict, byAvro);
            DataOutputSerializer byUs = new DataOutputSerializer(64);
            ours.serialize(verdict, byUs);
            assertArrayEquals(byAvro.getCopyOfBuffer(), byUs.getCopyOfBuffer(), "verdict " + i);
            assertEquals(verdict, ours.deserialize(new DataInputDeserializer(byAvro.getCopyOfBuffer())));
            assertEquals(verdict, avro.deserialize(new DataInputDeserializer(byUs.getCopyOfBuffer())));
            VerifierSignal copy = ours.copy(verdict);
            assertEquals(verdict, copy);
            assertNotSame(verdict, copy, "a copy the snapshot may keep while the task changes the original");
        }
        assertEquals(avro.snapshotConfiguration().getClass(), ours.snapshotConfiguration().getClass());
        assertTrue(ours.snapshotConfiguration().resolveSchemaCompatibility(avro.snapshotConfiguration())
                .isCompatibleAsIs(), "an earlier release's verdicts restore as they are");
    }

    @Test
    void progressAndMarkersReadBackWhole() throws Exception {
        var progress = new AssemblyStateSerializers.OfProgress();
        Random random = new Random(7);
        for (int i = 0; i < 2_000; i++) {
            AssemblyProgress p = randomProgress(random);
            assertSameProgress(p, roundTrip(progress, p, AssemblyStateSerializersTest::assertSameProgress));
            AssemblyProgress copy = progress.duplicate().copy(p);
            assertSameProgress(p, copy);
            assertNotSame(p.receivedSteps(), copy.receivedSteps());
            // Format version 1, which releases before the trajectory fields wrote, has all else.
            var version1 = new AssemblyStateSerializers.OfProgress(1);
            assertSameProgress(p.withTrajectoryFields(null),
                    roundTrip(version1, p, AssemblyStateSerializersTest::assertSameProgress));
        }
        assertSameProgress(AssemblyProgress.EMPTY,
                roundTrip(progress, AssemblyProgress.EMPTY, AssemblyStateSerializersTest::assertSameProgress));

        var markers = new AssemblyStateSerializers.OfFinished();
        byte[] scored = FinishedTrajectory.encode(outcome("t", 0.5, 2, 100));
        FinishedTrajectory scoredMarker = new FinishedTrajectory(scored, 1_234L);
        assertSameMarker(scoredMarker, roundTrip(markers, scoredMarker, AssemblyStateSerializersTest::assertSameMarker));
        FinishedTrajectory timedOut = new FinishedTrajectory(null, Long.MAX_VALUE);
        FinishedTrajectory timedOutBack = roundTrip(markers, timedOut, AssemblyStateSerializersTest::assertSameMarker);
        assertSameMarker(timedOut, timedOutBack);
        assertNull(timedOutBack.encodedOutcome());
    }

    /** An input held past its trajectory's deadline comes back with its event time, provenance and event. */
    @Test
    void heldInputsReadBackWhole() throws Exception {
        var held = new AssemblyStateSerializers.OfHeldInput();
        InputRecord encodedStep = overTheNetwork(in(terminalStep("t", 3, 100)));
        for (InputRecord input : List.of(encodedStep, in(step("t", 2, 90).build()), in(outcome("t", 0.5, 1, 110)),
                in(verdict("t", 2, "prm", 0.25, 120)))) {
            HeldInput value = new HeldInput(input.timestamp + 7, input);
            HeldInput back = roundTrip(held, value);
            assertEquals(value, back);
            assertEquals(input.topic + input.partition + "@" + input.offset + " ts " + input.timestamp,
                    back.input().topic + back.input().partition + "@" + back.input().offset + " ts "
                            + back.input().timestamp, "provenance");
        }
        HeldInput step = roundTrip(held, new HeldInput(100, encodedStep));
        assertTrue(step.input().isTerminalStep());
        assertArrayEquals(encodedStep.encodedStep, step.input().encodedStep, "a step's bytes are kept as they came");
    }

    @Test
    void aSnapshotAcceptsItsOwnStateAndMigratesEarlierReleasesOnly() {
        TypeSerializerSnapshot<AssemblyProgress> current = new AssemblyStateSerializers.OfProgress().snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(current).isCompatibleAsIs());
        var version1 = new AssemblyStateSerializers.OfProgress(1).snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(version1).isCompatibleAfterMigration());
        var later = new AssemblyStateSerializers.OfProgress(3).snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(later).isIncompatible(), "a later release's format is not read");
        TypeSerializerSnapshot<AssemblyProgress> pojo = TypeInformation.of(AssemblyProgress.class)
                .createSerializer(new SerializerConfigImpl()).snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(pojo).isCompatibleAfterMigration());
        TypeSerializerSnapshot<FinishedTrajectory> marker = new AssemblyStateSerializers.OfFinished().snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility((TypeSerializerSnapshot) marker).isIncompatible(),
                "a marker is not progress");
        TypeSerializerSnapshot<FinishedTrajectory> pojoMarker = TypeInformation.of(FinishedTrajectory.class)
                .createSerializer(new SerializerConfigImpl()).snapshotConfiguration();
        assertTrue(marker.resolveSchemaCompatibility(pojoMarker).isCompatibleAfterMigration());
    }

    private static StateBackend backend(String name) {
        return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    /**
     * State as an earlier release left it: trajectory "open" with steps 0-2 (of task-1) and its inactivity timer,
     * trajectory "done" emitted with outcome revision 0, its marker and the timer that clears it. Its progress and
     * markers in the layout of the releases before these serializers (Flink's POJO serializer), or in format version
     * 1 of these, without the trajectory fields.
     */
    private static OperatorSubtaskState earlierReleasesSavepoint(String backendName, String layout) throws Exception {
        var earlierRelease = new KeyedProcessFunction<String, InputRecord, AssembledTrajectory>() {
            @Override
            public void processElement(InputRecord input, Context ctx, Collector<AssembledTrajectory> out)
                    throws Exception {
                boolean pojo = layout.equals("pojo");
                var steps = getRuntimeContext().getListState(new ListStateDescriptor<>("steps", byte[].class));
                var progress = getRuntimeContext().getState(pojo
                        ? new ValueStateDescriptor<>("progress", AssemblyProgress.class)
                        : new ValueStateDescriptor<>("progress", new AssemblyStateSerializers.OfProgress(1)));
                var finished = getRuntimeContext().getState(pojo
                        ? new ValueStateDescriptor<>("finished", FinishedTrajectory.class)
                        : new ValueStateDescriptor<>("finished", new AssemblyStateSerializers.OfFinished()));
                if (input.trajectoryId().equals("done")) {
                    finished.update(new FinishedTrajectory(FinishedTrajectory.encode(input.outcome), 5_000_000L));
                    ctx.timerService().registerEventTimeTimer(5_000_000L);
                    return;
                }
                AssemblyProgress p = progress.value() == null ? AssemblyProgress.EMPTY : progress.value();
                steps.add(new StepEventCodec().encode(input.getStep()));
                p = p.withStep(input.stepIndex(), false).withInput(input.topic, input.partition, input.offset)
                        .withEventTime(ctx.timestamp());
                long deadline = p.latestEventTime() + OUTCOME_TIMEOUT;
                if (p.timer() == Long.MIN_VALUE) {
                    ctx.timerService().registerEventTimeTimer(deadline);
                    p = p.withTimer(deadline);
                }
                progress.update(p.withDeadline(Phase.OPEN, deadline));
            }
        };
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(earlierRelease), InputRecord::trajectoryId, StringKeys.TYPE)) {
            h.setStateBackend(backend(backendName));
            h.open();
            for (int s = 0; s < 3; s++) {
                h.processElement(new StreamRecord<>(InputRecord.ofStep("agent.steps", 1, 40 + s, 1_000 + s,
                        step("open", s, 1_000 + s).build()), 1_000 + s));
            }
            h.processElement(new StreamRecord<>(in(outcome("done", 1.0, 0, 900)), 900));
            return h.snapshot(1, 1);
        }
    }

    @ParameterizedTest
    @CsvSource({"hashmap, pojo", "rocksdb, pojo", "hashmap, format-1", "rocksdb, format-1"})
    void anEarlierReleasesSavepointIsMigrated(String backendName, String layout) throws Exception {
        OperatorSubtaskState savepoint = earlierReleasesSavepoint(backendName, layout);
        AssembleTrajectory function = new AssembleTrajectory(new Configuration());
        try (var restored = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(function, new Configuration()), InputRecord::trajectoryId, StringKeys.TYPE)) {
            restored.setStateBackend(backend(backendName));
            restored.initializeState(savepoint);
            restored.open();
            assertEquals(1, function.openWork().getValue(), "the open trajectory recounted");

            // The restored trajectory's fields are those of its steps in state: a step of another task is refused.
            for (InputRecord input : List.of(in(step("open", 3, 2_000).setTaskId("task-2").build()),
                    in(terminalStep("open", 3, 2_000)), in(outcome("open", 0.5, 0, 2_000)),
                    in(outcome("done", 0.0, 1, 2_000)))) {
                restored.processElement(new StreamRecord<>(overTheNetwork(input), input.timestamp));
            }
            // On RocksDB the inputs wait in a mini-batch, and so would the watermark: its allowed latency passes first.
            restored.setProcessingTime(JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis());
            restored.processWatermark(2_000);

            List<AssembledTrajectory> emitted = restored.extractOutputValues();
            assertEquals(1, emitted.size());
            AssembledTrajectory open = emitted.get(0);
            assertEquals("open", open.trajectoryId());
            assertEquals(List.of(0, 1, 2, 3), open.steps().stream().map(s -> s.getStepIndex()).toList(),
                    "the steps from before the restore and after");
            assertEquals(0.5, open.outcome().getReward());
            assertEquals(new OffsetRange("agent.steps", 1, 40L, 42L), open.lineage().get(0), "lineage migrated");
            List<String> deadLetters = new ArrayList<>();
            restored.getSideOutput(DeadLetters.TAG).forEach(r -> deadLetters.add(r.getValue().getErrorClass()));
            assertEquals(List.of("CONFLICTING_TRAJECTORY_FIELDS"), deadLetters);

            List<UnscoredTrajectory> unscored = new ArrayList<>();
            restored.getSideOutput(AssembleTrajectory.UNSCORED).forEach(r -> unscored.add(r.getValue()));
            assertEquals(1, unscored.size());
            assertEquals(UnscoredReason.LATE_REVISION, unscored.get(0).getReason(), "the migrated marker routes it");
            OutcomeEvent scoredWith = unscored.get(0).getOutcomes().get(0);
            assertEquals(1.0, scoredWith.getReward(), "with the outcome the marker kept");

            restored.processWatermark(Long.MAX_VALUE); // the markers' timers, migrated too, clear them
            var backend = restored.getOperator().getKeyedStateBackend();
            for (String state : List.of("steps", "progress", "finished")) {
                try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                    assertEquals(0, keys.count(), state + " left on " + backendName);
                }
            }
            assertEquals(0, restored.numEventTimeTimers());
        }
    }
}
