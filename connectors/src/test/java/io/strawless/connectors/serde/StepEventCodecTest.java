package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The step codec writes Avro's own bytes for every field of the schema, nulls included, and reads them back. */
class StepEventCodecTest {

    @Test
    void carriesEveryFieldOfTheSchemaInItsOrder() {
        // A field added to StepEvent.avsc fails here until the codec writes it (and the list names it).
        List<String> schemaFields = StepEvent.getClassSchema().getFields().stream().map(Schema.Field::name).toList();
        assertEquals(schemaFields, StepEventCodec.FIELDS);
    }

    @Test
    void writesWhatAvrosOwnWriterWritesAndReadsItBack() throws Exception {
        // Byte for byte Avro's encoding: state written this way is read by Avro's resolving decoder after the
        // schema evolves, and what Avro wrote is read here.
        Random random = new Random(7);
        StepEventCodec codec = new StepEventCodec();
        SpecificDatumWriter<StepEvent> avroWriter = new SpecificDatumWriter<>(StepEvent.class);
        for (int i = 0; i < 2_000; i++) {
            StepEvent step = randomStep(random, i);
            ByteArrayOutputStream avroBody = new ByteArrayOutputStream();
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(avroBody, null);
            avroWriter.write(step, encoder);
            encoder.flush();

            byte[] encoded = codec.encode(step);
            assertArrayEquals(toArray(step.toByteBuffer()), encoded, "single-object encoding of step " + i);
            assertArrayEquals(avroBody.toByteArray(), Arrays.copyOfRange(encoded, 10, encoded.length));
            assertEquals(step, codec.decode(encoded));
            assertEquals(step, codec.decode(toArray(step.toByteBuffer())));
            assertFieldsReadInPlace(step, encoded);
        }
    }

    @Test
    void readsFieldsInPlaceAcrossArrayBlocksWithByteSizes() throws Exception {
        // Avro's blocking encoder writes an array in blocks with a negative count and the block's size in bytes,
        // as another producer's writer may: still Avro, so the fields after the tokens must read the same.
        Random random = new Random(19);
        SpecificDatumWriter<StepEvent> avroWriter = new SpecificDatumWriter<>(StepEvent.class);
        int blocked = 0;
        for (int i = 0; i < 600; i++) {
            StepEvent step = randomStep(random, i);
            ByteArrayOutputStream singleObject = new ByteArrayOutputStream();
            singleObject.write(toArray(step.toByteBuffer()), 0, 10); // the header
            BinaryEncoder encoder = EncoderFactory.get().blockingBinaryEncoder(singleObject, null);
            avroWriter.write(step, encoder);
            encoder.flush();
            byte[] encoded = singleObject.toByteArray();
            assertEquals(step, StepEvent.fromByteBuffer(ByteBuffer.wrap(encoded)), "Avro reads it back");
            assertFieldsReadInPlace(step, encoded);
            assertEquals(step, new StepEventCodec().decode(encoded), "decoded in place");
            blocked += Arrays.equals(encoded, toArray(step.toByteBuffer())) ? 0 : 1;
        }
        assertTrue(blocked > 100, "steps whose tokens were written in sized blocks: " + blocked);
    }

    @Test
    void aStepIsComparedWithItsTrajectorysFieldsInPlace() throws Exception {
        Random random = new Random(29);
        StepEventCodec codec = new StepEventCodec();
        for (int i = 0; i < 600; i++) {
            StepEvent step = randomStep(random, i);
            byte[] fields = StepEventCodec.trajectoryFields(codec.encode(step));
            StepEvent sameTrajectory = StepEvent.newBuilder(randomStep(random, i + 1))
                    .setAgentId(step.getAgentId())
                    .setTaskId(step.getTaskId())
                    .setGroupId(step.getGroupId())
                    .setGroupSize(step.getGroupSize())
                    .build();
            assertTrue(StepEventCodec.hasTrajectoryFields(codec.encode(sameTrajectory), fields), "step " + i);
            assertArrayEquals(fields, StepEventCodec.trajectoryFields(codec.encode(sameTrajectory)));

            Integer otherSize = step.getGroupSize() == null ? 1 : null;
            for (StepEvent other : List.of(
                    StepEvent.newBuilder(step).setAgentId(step.getAgentId() + "x").build(),
                    StepEvent.newBuilder(step).setTaskId(step.getTaskId() + "x").build(),
                    StepEvent.newBuilder(step).setGroupId(step.getGroupId() == null ? "g" : null).build(),
                    StepEvent.newBuilder(step).setGroupSize(otherSize).build())) {
                assertFalse(StepEventCodec.hasTrajectoryFields(codec.encode(other), fields), other.toString());
            }
        }
    }

    @Test
    void aTruncatedStepFailsAsCorruptWhenReadInPlace() throws Exception {
        byte[] encoded = new StepEventCodec().encode(randomStep(new Random(23), 1));
        byte[] truncated = Arrays.copyOf(encoded, 20); // inside the trajectory id
        IOException failure = assertThrows(IOException.class, () -> StepEventCodec.isTerminal(truncated));
        assertTrue(failure.getMessage().startsWith("corrupt step encoding"), failure.getMessage());
    }

    @Test
    void unusualBytesAnEarlierReleaseKeptDecodeAsAvroReadsThem() throws Exception {
        // Releases before the source's in-place check passed on whatever Avro's reader accepted, and their savepoints
        // may hold it: a trainable byte of 2 (Avro: false) must decode as before, not fail every restore.
        StepEvent step = StepEvent.newBuilder(TestRecords.step("traj-1", 2)).setTrainable(true).build();
        byte[] encoded = new StepEventCodec().encode(step);
        int trainable = trainableOffset(step);
        assertEquals(1, encoded[trainable], "the trainable byte");
        encoded[trainable] = 2;
        assertEquals(null, StepEventCodec.fields(encoded), "the source's check declines it");
        StepEvent decoded = new StepEventCodec().decode(encoded);
        assertEquals(StepEvent.newBuilder(step).setTrainable(false).build(), decoded);
        assertEquals(new SpecificDatumReader<>(StepEvent.class).read(null, new BoundedBinaryDecoder(encoded, 10)),
                decoded);

        byte[] truncated = Arrays.copyOf(encoded, 20);
        assertThrows(IOException.class, () -> new StepEventCodec().decode(truncated), "cut off: fails either way");
    }

    /** Where the step's trainable byte sits in its encoding: the fields after it, emptied, take a byte each (8). */
    private static int trainableOffset(StepEvent step) throws IOException {
        StepEvent emptied = StepEvent.newBuilder(step).setValue(null).setReward(null).setLogprob(null).setTokenIds(null)
                .setPayloadRef(null).setObservationKey(null).setTerminal(TerminalKind.NONE).setBootstrapValue(null)
                .build();
        return new StepEventCodec().encode(emptied).length - 1 - 8;
    }

    @Test
    void decodesTokenIdsWrittenInManySmallBlocks() throws Exception {
        // Another producer's blocking writer with small blocks: the decoder grows its array block by block.
        Random random = new Random(43);
        SpecificDatumWriter<StepEvent> avroWriter = new SpecificDatumWriter<>(StepEvent.class);
        for (int i = 0; i < 50; i++) {
            List<Integer> tokens = new ArrayList<>();
            for (int t = 50 + random.nextInt(400); t > 0; t--) {
                tokens.add(random.nextInt());
            }
            StepEvent step = StepEvent.newBuilder(randomStep(random, 0)).setTokenIds(tokens).build();
            ByteArrayOutputStream singleObject = new ByteArrayOutputStream();
            singleObject.write(toArray(step.toByteBuffer()), 0, 10);
            BinaryEncoder encoder = new EncoderFactory().configureBlockSize(64).blockingBinaryEncoder(singleObject, null);
            avroWriter.write(step, encoder);
            encoder.flush();
            byte[] encoded = singleObject.toByteArray();
            assertFieldsReadInPlace(step, encoded);
            assertEquals(step, new StepEventCodec().decode(encoded), "step " + i);
        }
    }

    /**
     * A legal step whose token ids come one per block: the decoder grew its array by each block, copying it once per
     * token (a million tokens: half a trillion ints copied, hours at every decode). Doubling makes it linear.
     */
    @Test
    void manyOneItemBlocksDecodeInLinearTime() throws Exception {
        int tokens = 1_000_000;
        StepEvent step = StepEvent.newBuilder(TestRecords.step("traj-1", 0))
                .setTokenIds(Collections.nCopies(tokens, 5)).build();
        byte[] oneBlock = new StepEventCodec().encode(step);
        // The array as the encoder writes it: count 1,000,000 (zigzag varint 0x80 0x89 0x7A), the items (5: 0x0A).
        byte[] block = new byte[3 + tokens];
        block[0] = (byte) 0x80;
        block[1] = (byte) 0x89;
        block[2] = (byte) 0x7A;
        Arrays.fill(block, 3, 3 + tokens, (byte) 0x0A);
        int at = indexOf(oneBlock, block);
        assertTrue(at > 0, "the token block is where the encoder wrote it");
        ByteArrayOutputStream oneItemBlocks = new ByteArrayOutputStream();
        oneItemBlocks.write(oneBlock, 0, at);
        for (int i = 0; i < tokens; i++) {
            oneItemBlocks.write(0x02); // a block of one item
            oneItemBlocks.write(0x0A);
        }
        oneItemBlocks.write(oneBlock, at + 3 + tokens, oneBlock.length - at - 3 - tokens);
        byte[] encoded = oneItemBlocks.toByteArray();

        // Milliseconds when linear; the old growth would take hours on any machine.
        StepEvent decoded = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> new StepEventCodec().decode(encoded));
        assertEquals(step, decoded);
        assertFieldsReadInPlace(step, encoded);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void decodedTokenIdsAreAListOfTheirIntegers() throws Exception {
        StepEvent step = StepEvent.newBuilder(TestRecords.step("traj-1", 0)).setTokenIds(List.of(7, -1, 1 << 30)).build();
        List<Integer> tokens = new StepEventCodec().decode(new StepEventCodec().encode(step)).getTokenIds();
        assertEquals(List.of(7, -1, 1 << 30), tokens);
        assertEquals(List.of(7, -1, 1 << 30).hashCode(), tokens.hashCode());
        assertEquals(1 << 30, ((PackedInts) tokens).getInt(2));
        assertThrows(UnsupportedOperationException.class, () -> tokens.add(1), "immutable, as the step's bytes");
    }

    @Test
    void aKeptStepWhoseIdIsNotUtf8StillReads() throws Exception {
        // The source refuses such a step, but an earlier release accepted it, and a savepoint may hold one: what reads
        // the job's state reads it as before (with U+FFFD), or the job would fail on every restore.
        byte[] encoded = new StepEventCodec().encode(TestRecords.step("traj-?1", 2));
        encoded[10 + 1 + "traj-".length()] = (byte) 0xFF;

        assertEquals(null, StepEventCodec.fields(encoded), "the source's check declines it");
        assertEquals("traj-\uFFFD1", StepEventCodec.trajectoryId(encoded));
        assertEquals(2, StepEventCodec.stepIndex(encoded));
        assertEquals("traj-\uFFFD1", new StepEventCodec().decode(encoded).getTrajectoryId());
    }

    private static void assertFieldsReadInPlace(StepEvent step, byte[] encoded) throws IOException {
        assertEquals(step.getTrajectoryId(), StepEventCodec.trajectoryId(encoded));
        assertEquals(step.getStepIndex(), StepEventCodec.stepIndex(encoded));
        assertEquals(step.getPolicyVersion(), StepEventCodec.policyVersion(encoded));
        assertEquals(step.getTerminal() != TerminalKind.NONE, StepEventCodec.isTerminal(encoded));
    }

    @Test
    void aStepCrossesTheNetworkWhole() throws Exception {
        Random random = new Random(11);
        List<StepEvent> steps = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            steps.add(randomStep(random, i));
        }
        assertCrossesTheNetwork(steps);
    }

    @Test
    void anEncodedStepCrossesTheNetworkAsItsStepWould() throws Exception {
        // A trajectory leaving the assembler's state copies its steps' bodies instead of encoding the steps again.
        Random random = new Random(17);
        StepEventCodec codec = new StepEventCodec();
        for (int i = 0; i < 600; i++) {
            StepEvent step = randomStep(random, i);
            DataOutputSerializer fromStep = new DataOutputSerializer(256);
            codec.write(step, fromStep);
            DataOutputSerializer fromBytes = new DataOutputSerializer(256);
            codec.write(codec.encode(step), fromBytes);
            assertArrayEquals(fromStep.getCopyOfBuffer(), fromBytes.getCopyOfBuffer(), "step " + i);
        }
        List<StepEvent> steps = List.of(randomStep(random, 0), randomStep(random, 1));
        List<byte[]> encoded = new ArrayList<>();
        for (StepEvent step : steps) {
            encoded.add(codec.encode(step));
        }
        EncodedSteps list = new EncodedSteps(encoded);
        assertEquals(steps, list);
        assertEquals(list, steps);
    }

    @Test
    void encodedStepsTellTheirPolicyVersionsWithoutDecoding() throws Exception {
        StepEventCodec codec = new StepEventCodec();
        Random random = new Random(29);
        List<byte[]> encoded = new ArrayList<>();
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int i = 0; i < 9; i++) {
            StepEvent step = randomStep(random, i);
            min = Math.min(min, step.getPolicyVersion());
            max = Math.max(max, step.getPolicyVersion());
            encoded.add(codec.encode(step));
        }
        EncodedSteps steps = new EncodedSteps(encoded);
        assertEquals(min, steps.minPolicyVersion());
        assertEquals(max, steps.maxPolicyVersion());
        assertEquals(0, new EncodedSteps(List.of()).minPolicyVersion());
        assertEquals(0, new EncodedSteps(List.of()).maxPolicyVersion());
    }

    @Test
    void repeatedIdsReadBackAsWrittenWhenTheyChange() throws Exception {
        // The reader keeps each id field's last string: a repeat reuses it, an id of the same length but other
        // bytes, or an empty one, must not.
        Random random = new Random(5);
        String[] ids = {"traj-a1", "traj-a1", "traj-a2", "traj-a1", "", "", "traj-b1", "traj-b1"};
        List<StepEvent> steps = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            StepEvent step = randomStep(random, 0); // every nullable field present
            step.setTrajectoryId(ids[i]);
            step.setAgentId(ids[(i + 1) % ids.length]);
            step.setTaskId(ids[(i + 2) % ids.length]);
            step.setGroupId(i % 3 == 0 ? null : ids[(i + 3) % ids.length]);
            steps.add(step);
        }
        assertCrossesTheNetwork(steps);
    }

    /** Written one after another by one codec, read back by another: the same encodings and steps, nothing left over. */
    private static void assertCrossesTheNetwork(List<StepEvent> steps) throws Exception {
        StepEventCodec writer = new StepEventCodec();
        DataOutputSerializer out = new DataOutputSerializer(256);
        for (StepEvent step : steps) {
            writer.write(step, out);
        }
        StepEventCodec reader = new StepEventCodec();
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        for (StepEvent step : steps) {
            byte[] encoded = reader.readEncoded(in);
            assertArrayEquals(writer.encode(step), encoded);
            assertEquals(step, reader.decode(encoded));
        }
        assertEquals(0, in.available());
    }

    @Test
    void readsCorruptInputAsAvrosOwnReaderDoes() throws Exception {
        // The source decodes untrusted Kafka values with this codec: on a corrupted body it must fail where Avro's
        // reader fails (the record becomes a dead letter) and decode the same step where Avro's reader decodes one.
        Random random = new Random(13);
        SpecificDatumReader<StepEvent> avroReader = new SpecificDatumReader<>(StepEvent.class);
        StepEventCodec codec = new StepEventCodec();
        int failed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] valid = toArray(randomStep(random, i).toByteBuffer());
            byte[] value = Arrays.copyOf(valid, 10 + random.nextInt(valid.length - 9));
            for (int flips = random.nextInt(4); flips > 0; flips--) {
                int at = 10 + random.nextInt(value.length - 10 + 1);
                if (at < value.length) {
                    value[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            Object byAvro = readOrFailure(() -> avroReader.read(null, new BoundedBinaryDecoder(value, 10)));
            Object byCodec = readOrFailure(() -> codec.read(new BoundedBinaryDecoder(value, 10)));
            assertEquals(byAvro instanceof Exception, byCodec instanceof Exception,
                    "corruption " + i + ": Avro " + byAvro + ", codec " + byCodec);
            if (byAvro instanceof Exception) {
                failed++;
            } else {
                assertEquals(byAvro, byCodec, "corruption " + i);
            }
        }
        assertTrue(failed > 2_000, "corruptions that fail to decode: " + failed);
    }

    @Test
    void readsTheCheckedFieldsInPlaceAsDecodingWould() throws Exception {
        // The source checks steps read in place (StepEventCodec.fields) instead of decoding them: every well-formed
        // step must read so, with the fields decoding gives, whatever its ids, numbers and sizes.
        Random random = new Random(31);
        SpecificDatumWriter<StepEvent> avroWriter = new SpecificDatumWriter<>(StepEvent.class);
        String[] ids = {"", " ", "\t\n", "\u2003", "\u00a0", " \u2003 ", "ünï", "id-1", " x "};
        Double[] numbers = {null, 0.0, -1.5, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0};
        for (int i = 0; i < 3_000; i++) {
            StepEvent step = randomStep(random, i);
            step.setAgentId(ids[random.nextInt(ids.length)]);
            step.setTaskId(ids[random.nextInt(ids.length)]);
            if (i % 5 == 0) {
                step.setTrajectoryId(ids[random.nextInt(ids.length)]);
            }
            step.setReward(numbers[random.nextInt(numbers.length)]);
            step.setBootstrapValue(numbers[random.nextInt(numbers.length)]);
            if (i % 11 == 0) { // a long reference, in ASCII or not: its length counts chars, not bytes
                step.setPayloadRef((i % 2 == 0 ? "é" : "e").repeat(2_040 + random.nextInt(20)));
            }
            byte[] encoded = toArray(step.toByteBuffer());
            assertEquals(StepFields.of(step), StepEventCodec.fields(encoded), "step " + i);

            // Another producer's blocking writer: tokens in blocks with a byte size.
            ByteArrayOutputStream blocked = new ByteArrayOutputStream();
            blocked.write(encoded, 0, 10);
            BinaryEncoder encoder = EncoderFactory.get().blockingBinaryEncoder(blocked, null);
            avroWriter.write(step, encoder);
            encoder.flush();
            assertEquals(StepFields.of(step), StepEventCodec.fields(blocked.toByteArray()), "blocked step " + i);
        }
    }

    /**
     * A block of token ids whose byte size is wrong: Avro's decoder reads the items and ignores the size, so every
     * reader of the step here must too, or the terminal flag read in place would differ from the decoded step's.
     */
    @Test
    void aTokenBlockWhoseByteSizeIsWrongIsReadItemByItemEverywhere() throws Exception {
        byte[] header = Arrays.copyOf(new StepEventCodec().encode(
                StepEvent.newBuilder().setTrajectoryId("t").setStepIndex(0).setAgentId("a").setTaskId("k")
                        .setEventTime(Instant.EPOCH).build()), 10);
        byte[] body = {
            2, 't', 0, 2, 'a', 2, 'k', 0, 0, 0, 0, 1, 0, 0, 0, // ids, no group, versions, trainable, no numbers
            2, 1, 8, 8, 0, // token_ids: a block of -1 items said to take 4 bytes, the item 4 (one byte), the end
            2, 8, 'a', 'b', 'c', 'd', 0, 0, 0 // payload_ref "abcd", no observation_key, terminal NONE, no bootstrap
        };
        byte[] step = new byte[header.length + body.length];
        System.arraycopy(header, 0, step, 0, header.length);
        System.arraycopy(body, 0, step, header.length, body.length);

        StepEvent decoded = new StepEventCodec().decode(step);
        assertEquals(List.of(4), decoded.getTokenIds());
        assertEquals("abcd", decoded.getPayloadRef());
        assertEquals(TerminalKind.NONE, decoded.getTerminal());
        assertFalse(StepEventCodec.isTerminal(step));
        assertEquals(StepFields.of(decoded), StepEventCodec.fields(step));
    }

    /** A terminal kind past the enum's symbols is named so, not as an index out of the codec's array's bounds. */
    @Test
    void aTerminalKindOutOfRangeIsNamedSo() throws Exception {
        byte[] step = new StepEventCodec().encode(StepEvent.newBuilder().setTrajectoryId("t").setStepIndex(0)
                .setAgentId("a").setTaskId("k").setEventTime(Instant.EPOCH).build());
        step[step.length - 2] = 14; // terminal 7; the last byte is bootstrap_value's null
        Exception e = assertThrows(Exception.class, () -> new StepEventCodec().decode(step));
        assertTrue(e instanceof AvroRuntimeException && e.getMessage().startsWith("terminal kind 7 is not one of"),
                e.toString());
    }

    @Test
    void leavesToTheDecoderWhatIsNotPlainlyWellFormed() throws Exception {
        byte[] valid = toArray(TestRecords.step("traj-1", 2).toByteBuffer());
        assertTrue(StepEventCodec.fields(valid) != null);

        byte[] trailing = Arrays.copyOf(valid, valid.length + 1);
        assertEquals(null, StepEventCodec.fields(trailing), "a byte left over");
        assertEquals(null, StepEventCodec.fields(Arrays.copyOf(valid, valid.length - 1)), "one byte short");
        byte[] otherVersion = valid.clone();
        otherVersion[5] ^= 1; // the fingerprint
        assertEquals(null, StepEventCodec.fields(otherVersion), "another schema version");

        // Avro reads an int of more than 5 bytes as corrupt, however small its value: step_index 2, padded.
        int index = 10 + 1 + "traj-1".length();
        assertEquals(4, valid[index], "the zig-zag step index");
        byte[] padded = new byte[valid.length + 5];
        System.arraycopy(valid, 0, padded, 0, index);
        byte[] sixBytes = {(byte) 0x84, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0};
        System.arraycopy(sixBytes, 0, padded, index, 6);
        System.arraycopy(valid, index + 1, padded, index + 6, valid.length - index - 1);
        assertEquals(null, StepEventCodec.fields(padded));
        assertThrows(Exception.class, () -> new StepEventCodec().read(new BoundedBinaryDecoder(padded, 10)));
    }

    @Test
    void whatIsReadInPlaceDecodesToTheSameFields() throws Exception {
        // Mangled bodies: whatever fields() accepts, the decoder the source falls back to accepts too (nothing left
        // over), with the same fields; whatever fails to decode, fields() declines.
        Random random = new Random(37);
        StepEventCodec codec = new StepEventCodec();
        int readInPlace = 0;
        int decodable = 0;
        for (int i = 0; i < 30_000; i++) {
            byte[] valid = toArray(randomStep(random, i).toByteBuffer());
            byte[] value = i % 4 == 0 ? valid : Arrays.copyOf(valid, 10 + random.nextInt(valid.length - 9));
            for (int flips = random.nextInt(4); flips > 0; flips--) {
                int at = 10 + random.nextInt(value.length - 10 + 1);
                if (at < value.length) {
                    value[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            if (i % 7 == 0) { // now and then a whole byte of garbage, where one flip rarely reaches
                int at = 10 + random.nextInt(value.length - 10 + 1);
                if (at < value.length) {
                    value[at] = (byte) random.nextInt(256);
                }
            }
            StepFields fields = StepEventCodec.fields(value);
            BoundedBinaryDecoder body = new BoundedBinaryDecoder(value, 10);
            Object decoded = readOrFailure(() -> codec.read(body));
            boolean decodes = !(decoded instanceof Exception) && body.remaining() == 0;
            decodable += decodes ? 1 : 0;
            if (fields != null) {
                readInPlace++;
                assertTrue(decodes, "mangled step " + i + " reads in place but does not decode: " + decoded);
                assertEquals(StepFields.of((StepEvent) decoded), fields, "mangled step " + i);
                // What the source passes on as its bytes, the job's stages decode in place: to Avro's own step.
                StepEvent byAvro = new SpecificDatumReader<>(StepEvent.class).read(null, new BoundedBinaryDecoder(value, 10));
                assertEquals(byAvro, codec.decode(value), "mangled step " + i + " decoded in place");
            }
        }
        // The mangled bodies that still decode are mostly read in place too (the others: a boolean byte other than
        // 0 or 1, an int Avro would truncate), so the test compares both ways many times.
        assertTrue(readInPlace > 0.9 * decodable && decodable > 4_000,
                "read in place " + readInPlace + " of " + decodable + " decodable");
    }

    private interface Read {
        StepEvent read() throws Exception;
    }

    private static Object readOrFailure(Read read) {
        try {
            return read.read();
        } catch (Exception e) {
            return e;
        }
    }

    private static byte[] toArray(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    private static StepEvent randomStep(Random random, int i) {
        // Bit k of the mask nulls the k-th nullable field, so 512 steps cover every combination.
        int nulls = i % 512;
        List<Integer> tokens = new ArrayList<>();
        // Now and then a step longer than the codec's first buffer (256 bytes), which then has to grow.
        for (int t = i % 97 == 0 ? 300 + random.nextInt(300) : random.nextInt(5); t > 0; t--) {
            tokens.add(random.nextInt());
        }
        return StepEvent.newBuilder()
                .setTrajectoryId("trajectory-" + random.nextInt(1000) + (i % 3 == 0 ? "-ünïcode-✓" : ""))
                .setStepIndex(random.nextInt(10_000))
                .setAgentId("agent-" + random.nextInt(10))
                .setTaskId(i % 7 == 0 ? "" : "task-" + random.nextInt(100))
                .setGroupId((nulls & 1) != 0 ? null : "group-" + random.nextInt(100))
                .setGroupSize((nulls & 2) != 0 ? null : random.nextInt(16))
                .setPolicyVersion(random.nextLong())
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + random.nextInt(1_000_000)))
                .setTrainable(random.nextBoolean())
                .setValue((nulls & 4) != 0 ? null : random.nextGaussian())
                .setReward((nulls & 8) != 0 ? null : random.nextGaussian())
                .setLogprob((nulls & 16) != 0 ? null : -random.nextDouble())
                .setTokenIds((nulls & 32) != 0 ? null : tokens)
                .setPayloadRef((nulls & 64) != 0 ? null : "s3://bucket/" + random.nextInt())
                .setObservationKey((nulls & 128) != 0 ? null : "obs-" + random.nextInt(50))
                .setTerminal(TerminalKind.values()[random.nextInt(TerminalKind.values().length)])
                .setBootstrapValue((nulls & 256) != 0 ? null : random.nextGaussian())
                .build();
    }
}
