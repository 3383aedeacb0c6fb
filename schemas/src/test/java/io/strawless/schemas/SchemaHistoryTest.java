package io.strawless.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every contract is checked with Avro's own {@link SchemaCompatibility} against each version kept in
 * {@code src/main/resources/schema-history/<Record>/v<N>.avsc} ({@link SchemaHistory}), so an incompatible change fails the
 * build: a reader built from today's schema must read everything written with an older one.
 *
 * <p>To change a schema: edit the .avsc, run this test, and when it says the schema changed, add the
 * new version as the next {@code v<N+1>.avsc} (the failure message prints it).
 */
class SchemaHistoryTest {

    static Stream<Schema> contracts() {
        return Stream.of(
                StepEvent.getClassSchema(),
                OutcomeEvent.getClassSchema(),
                VerifierSignal.getClassSchema(),
                TrainingBatch.getClassSchema(),
                DeadLetter.getClassSchema(),
                UnscoredTrajectory.getClassSchema(),
                OffsetRange.getClassSchema()); // kept in the job's state on its own
    }

    @ParameterizedTest
    @MethodSource("contracts")
    void currentSchemaReadsEveryPreviousVersion(Schema current) throws IOException {
        List<Schema> history = history(current.getName());
        assertFalse(history.isEmpty(), "no history kept for " + current.getName());
        List<String> unreadable = unreadableVersions(current, history);
        assertTrue(unreadable.isEmpty(), current.getName() + " cannot read data written with " + unreadable);
    }

    /** The versions of {@code history} whose data {@code reader} cannot read, each with why. */
    private static List<String> unreadableVersions(Schema reader, List<Schema> history) {
        List<String> unreadable = new ArrayList<>();
        for (int v = 0; v < history.size(); v++) {
            var result = SchemaCompatibility.checkReaderWriterCompatibility(reader, history.get(v));
            if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
                unreadable.add("v" + (v + 1) + ": " + result.getResult().getIncompatibilities());
            }
        }
        return unreadable;
    }

    @ParameterizedTest
    @MethodSource("contracts")
    void newestHistoryVersionIsTheCurrentSchema(Schema current) throws IOException {
        List<Schema> history = history(current.getName());
        Schema newest = history.get(history.size() - 1);
        if (SchemaNormalization.parsingFingerprint64(newest) != SchemaNormalization.parsingFingerprint64(current)) {
            fail(current.getName() + " changed since v" + history.size() + ". If the change is intended, save"
                    + " the current schema as src/main/resources/schema-history/" + current.getName()
                    + "/v" + (history.size() + 1) + ".avsc:\n" + current.toString(true));
        }
    }

    /**
     * The fingerprint leaves defaults out, yet a default decides what older records read as: a field that v1 lacks
     * reads as its default in today's schema. Changing one (say, a weight's 1.0 to 0.0) must be a new version too.
     */
    @ParameterizedTest
    @MethodSource("contracts")
    void newestHistoryVersionHasTheCurrentDefaults(Schema current) {
        List<Schema> history = history(current.getName());
        List<String> differences = new ArrayList<>();
        compareDefaults(current.getName(), history.get(history.size() - 1), current, differences);
        assertTrue(differences.isEmpty(), current.getName() + " changed its defaults since v" + history.size()
                + " (save the current schema as v" + (history.size() + 1) + ".avsc): " + differences);
    }

    private static void compareDefaults(String path, Schema kept, Schema current, List<String> differences) {
        switch (current.getType()) {
            case RECORD -> {
                for (Schema.Field field : current.getFields()) {
                    Schema.Field keptField = kept.getField(field.name());
                    String at = path + "." + field.name();
                    if (keptField == null) {
                        continue; // a field the fingerprint would have caught
                    }
                    if (field.hasDefaultValue() != keptField.hasDefaultValue()
                            || (field.hasDefaultValue() && !String.valueOf(field.defaultVal())
                                    .equals(String.valueOf(keptField.defaultVal())))) {
                        differences.add(at + ": " + keptField.defaultVal() + " -> " + field.defaultVal());
                    }
                    compareDefaults(at, keptField.schema(), field.schema(), differences);
                }
            }
            case ARRAY -> compareDefaults(path + "[]", kept.getElementType(), current.getElementType(), differences);
            case MAP -> compareDefaults(path + "{}", kept.getValueType(), current.getValueType(), differences);
            case UNION -> {
                for (int i = 0; i < current.getTypes().size() && i < kept.getTypes().size(); i++) {
                    compareDefaults(path, kept.getTypes().get(i), current.getTypes().get(i), differences);
                }
            }
            default -> { }
        }
    }

    /** The deserializers read a record by its writer's fingerprint: every version kept, and today's, has a reader. */
    @ParameterizedTest
    @MethodSource("contracts")
    void readersKnowEveryVersionByFingerprint(Schema current) {
        Set<Long> expected = new HashSet<>();
        history(current.getName()).forEach(version -> expected.add(SchemaNormalization.parsingFingerprint64(version)));
        expected.add(SchemaNormalization.parsingFingerprint64(current));
        assertEquals(expected, SchemaHistory.readers(SpecificData.get().getClass(current)).keySet());
    }

    @ParameterizedTest
    @MethodSource("contracts")
    void incompatibleChangeIsCaught(Schema current) {
        // Guards the guard: a new required field without a default must be reported.
        String json = current.toString().replaceFirst("\"fields\":\\[",
                "\"fields\":[{\"name\":\"added_without_default\",\"type\":\"string\"},");
        Schema broken = new Schema.Parser().parse(json);
        assertEquals(history(current.getName()).size(), unreadableVersions(broken, history(current.getName())).size(),
                "a field without a default cannot be read from any version kept");
    }

    private static List<Schema> history(String name) {
        return SchemaHistory.of(name);
    }
}
