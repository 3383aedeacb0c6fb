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
import java.util.Map;
import java.util.Objects;
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
        compare(current.getName(), history.get(history.size() - 1), current, differences, new ArrayList<>());
        assertTrue(differences.isEmpty(), current.getName() + " changed its defaults since v" + history.size()
                + " (save the current schema as v" + (history.size() + 1) + ".avsc): " + differences);
    }

    /**
     * The fingerprint leaves logical types out too, and a reader applies its own: a long written as timestamp-millis
     * and read as timestamp-micros is a thousand times off, whatever the version files say (a new one would have the
     * fingerprint of the one before). A logical type therefore never changes; a new field takes a new one.
     */
    @ParameterizedTest
    @MethodSource("contracts")
    void logicalTypesNeverChange(Schema current) {
        List<String> changed = new ArrayList<>();
        for (Schema kept : history(current.getName())) {
            changed.addAll(logicalTypeChanges(kept, current));
        }
        assertTrue(changed.isEmpty(), current.getName() + " changed a logical type, which data already written would"
                + " read wrongly: restore it and add a new field instead: " + changed);
    }

    /** Every contract with a timestamp: all but OffsetRange. */
    static Stream<Schema> contractsWithTimestamps() {
        return contracts().filter(contract -> contract.toString().contains("timestamp-millis"));
    }

    @ParameterizedTest
    @MethodSource("contractsWithTimestamps")
    void aChangedLogicalTypeIsCaught(Schema current) {
        // Guards the guard.
        Schema changed = new Schema.Parser().parse(current.toString().replace("timestamp-millis", "timestamp-micros"));
        assertFalse(logicalTypeChanges(current, changed).isEmpty(), current.getName());
    }

    private static List<String> logicalTypeChanges(Schema kept, Schema current) {
        List<String> changes = new ArrayList<>();
        compare(current.getName(), kept, current, new ArrayList<>(), changes);
        return changes;
    }

    /** Adds where {@code current} differs from {@code kept} in a default or a logical type, field by field. */
    private static void compare(String path, Schema kept, Schema current, List<String> defaults,
            List<String> logicalTypes) {
        String keptLogical = kept.getLogicalType() == null ? null : kept.getLogicalType().getName();
        String currentLogical = current.getLogicalType() == null ? null : current.getLogicalType().getName();
        if (!Objects.equals(keptLogical, currentLogical)) {
            logicalTypes.add(path + ": " + keptLogical + " -> " + currentLogical);
        }
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
                        defaults.add(at + ": " + keptField.defaultVal() + " -> " + field.defaultVal());
                    }
                    compare(at, keptField.schema(), field.schema(), defaults, logicalTypes);
                }
            }
            case ARRAY -> compare(path + "[]", kept.getElementType(), current.getElementType(), defaults, logicalTypes);
            case MAP -> compare(path + "{}", kept.getValueType(), current.getValueType(), defaults, logicalTypes);
            case UNION -> {
                for (int i = 0; i < current.getTypes().size() && i < kept.getTypes().size(); i++) {
                    compare(path, kept.getTypes().get(i), current.getTypes().get(i), defaults, logicalTypes);
                }
            }
            default -> { }
        }
    }

    /**
     * Data written with a kept version is read by that version's fingerprint: a version edited in place after data
     * was written with it leaves that data unreadable (dead letters in the job, a stop in the trainers). Each kept
     * version's fingerprint is therefore pinned here when it is added, and never changes.
     */
    @ParameterizedTest
    @MethodSource("contracts")
    void keptVersionsAreNeverEdited(Schema current) {
        List<Schema> history = history(current.getName());
        List<String> found = new ArrayList<>();
        history.forEach(v -> found.add(Long.toHexString(SchemaNormalization.parsingFingerprint64(v))));
        List<String> pinned = PINNED_FINGERPRINTS.getOrDefault(current.getName(), List.of());
        assertEquals(pinned, found.subList(0, Math.min(pinned.size(), found.size())), current.getName()
                + ": a kept version was edited; restore it, and save the change as a new version");
        assertEquals(pinned.size(), found.size(), current.getName() + ": pin the new version's fingerprint in"
                + " PINNED_FINGERPRINTS: " + found);
    }

    private static final Map<String, List<String>> PINNED_FINGERPRINTS = Map.of(
            "StepEvent", List.of("1d29ea4929317802"),
            "OutcomeEvent", List.of("6aea3eecd7ccf82c"),
            "VerifierSignal", List.of("559bbe70c672c61f"),
            "TrainingBatch", List.of(
                    "f168c3f96b5a09d4", "3282928c4d9bbd8a", "29b8dc678c1d163d", "4505b7b289100a84", "87cfeb56bcf7b397"),
            "DeadLetter", List.of("3d67c2a6d6f7c8b8"),
            "UnscoredTrajectory", List.of("aca57179886044fa", "c8fa079bc55cde4c", "e8feece9a0231eb6"),
            "OffsetRange", List.of("2cc3d3ba45fb045e"));

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
