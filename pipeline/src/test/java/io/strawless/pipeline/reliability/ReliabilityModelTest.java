package io.strawless.pipeline.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.reliability.LabelledSteps.Judge;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ReliabilityModelTest {

    private static final int WINDOW = 10_000;

    private static ReliabilityModel learnInBatches(List<LabelledStep> steps, int batch, int window) {
        ReliabilityModel model = new ReliabilityModel();
        for (int from = 0; from < steps.size(); from += batch) {
            model.learn(steps.subList(from, Math.min(steps.size(), from + batch)), window);
        }
        return model;
    }

    @ParameterizedTest(name = "micro-batches of {0} steps")
    @ValueSource(ints = {20, 500, 8_000})
    void recoversKnownReliabilitiesWithoutGroundTruthWhateverTheBatching(int batch) {
        List<LabelledStep> steps = LabelledSteps.generate(8_000, 0.55, LabelledSteps.PANEL, 7);
        ReliabilityModel model = learnInBatches(steps, batch, WINDOW);

        Map<String, Double> learnt = model.reliabilities();
        for (Judge judge : LabelledSteps.PANEL) {
            assertEquals(judge.reliability(), learnt.get(judge.id()), 0.02, judge.id());
        }
        assertEquals(0.5, learnt.get("stamp"), 0.01, "a verifier that always says good is a coin");
        assertEquals(0.0, model.informativeness("stamp"), 0.02, "and tells nothing");
        assertEquals(0.88, model.informativeness("checker"), 0.03);
        assertTrue(Double.isNaN(model.informativeness("never-seen")));
        assertEquals(8_000, model.learnt);
    }

    @Test
    void aVerifierThatIsMostlyWrongIsFoundOutRatherThanTrusted() {
        Judge contrarian = new Judge("contrarian", 0.2, 0.25, 0.9);
        List<Judge> panel = List.of(LabelledSteps.CHECKER, LabelledSteps.PRM, contrarian);
        ReliabilityModel model = learnInBatches(LabelledSteps.generate(5_000, 0.5, panel, 3), 250, WINDOW);

        assertEquals(contrarian.reliability(), model.reliabilities().get("contrarian"), 0.03);
        assertEquals(0.0, model.informativeness("contrarian"), "weight 0, not a negative weight");
    }

    @Test
    void theWindowKeepsTheNewestStepsSoAVerifierThatChangesIsFollowed() {
        Judge before = new Judge("prm", 0.95, 0.95, 0.9);
        Judge after = new Judge("prm", 0.65, 0.65, 0.9);
        List<LabelledStep> steps = new ArrayList<>(LabelledSteps.generate(6_000, 0.5, List.of(LabelledSteps.CHECKER, before, LabelledSteps.UNRELIABLE), 1));
        steps.addAll(LabelledSteps.generate(3_000, 0.5, List.of(LabelledSteps.CHECKER, after, LabelledSteps.UNRELIABLE), 2));

        ReliabilityModel model = learnInBatches(steps, 300, 3_000);

        assertEquals(3_000, model.size, "the window holds at most reliability.window-steps steps");
        assertEquals(9_000, model.learnt);
        assertEquals(0.65, model.reliabilities().get("prm"), 0.03, "only the steps after the change count");
    }

    @Test
    void aSmallerWindowAfterARestartKeepsTheNewestSteps() {
        List<LabelledStep> steps = LabelledSteps.generate(1_000, 0.5, LabelledSteps.PANEL, 5);
        ReliabilityModel model = learnInBatches(steps, 100, 700);
        model.learn(List.of(), 300);
        assertEquals(300, model.size);
        assertEquals(300, model.judged.length);

        for (int i = 0; i < 300; i++) {
            assertEquals(steps.get(700 + i), stepAt(model, (model.next + i) % 300), "window slot " + i);
        }
    }

    /** Decodes the window's bit masks back into the step they hold. */
    private static LabelledStep stepAt(ReliabilityModel model, int slot) {
        Map<String, Boolean> saidGood = new java.util.HashMap<>();
        for (int v = 0; v < model.verifiers.length; v++) {
            if ((model.judged[slot] >>> v & 1) != 0) {
                saidGood.put(model.verifiers[v], (model.saidGood[slot] >>> v & 1) != 0);
            }
        }
        return new LabelledStep(saidGood, model.saidGood[slot] < 0);
    }

    @Test
    void verifiersWhoseVerdictsLeftTheWindowAreForgottenSoNewIdsAreStillLearntAfter63() {
        ReliabilityModel model = new ReliabilityModel();
        for (int version = 1; version <= 100; version++) { // a reward model released 100 times, 150 steps each
            Judge prm = new Judge("prm@v" + version, 0.90, 0.80, 0.7);
            model.learn(LabelledSteps.generate(150, 0.5, List.of(LabelledSteps.CHECKER, prm), version), 300);
        }
        assertEquals(Set.of("checker", "prm@v99", "prm@v100"), model.reliabilities().keySet(),
                "the versions with verdicts in the window, and no retired one at the prior");
        assertEquals(0.85, model.reliabilities().get("prm@v100"), 0.08, "the current version is learnt");
    }

    @Test
    void forgettingAVerifierRenumbersTheOthersWithoutChangingTheWindow() {
        List<LabelledStep> steps = new ArrayList<>(
                LabelledSteps.generate(100, 0.5, List.of(LabelledSteps.UNRELIABLE, LabelledSteps.CHECKER), 3));
        steps.addAll(LabelledSteps.generate(100, 0.5, List.of(LabelledSteps.CHECKER, LabelledSteps.PRM), 4));
        ReliabilityModel model = learnInBatches(steps.subList(0, 160), 100, 100);
        assertEquals("rater", model.verifiers[0], "still judges 40 steps of the window");

        model.learn(steps.subList(160, 200), 100);

        assertEquals(List.of("checker", "prm"), List.of(model.verifiers));
        for (int i = 0; i < 100; i++) {
            assertEquals(steps.get(100 + i), stepAt(model, (model.next + i) % 100), "window slot " + i);
        }
    }

    @Test
    void aFullTableRestoredFromAnEarlierReleaseMakesRoomForANewVerifier() {
        // An earlier release never forgot a verifier: its state can hold 63 ids, most with no step in the window.
        ReliabilityModel restored = new ReliabilityModel();
        restored.verifiers = new String[ReliabilityModel.MAX_VERIFIERS];
        for (int v = 0; v < ReliabilityModel.MAX_VERIFIERS; v++) {
            restored.verifiers[v] = "prm@v" + v;
        }
        restored.sensitivity = new double[ReliabilityModel.MAX_VERIFIERS];
        restored.specificity = new double[ReliabilityModel.MAX_VERIFIERS];
        java.util.Arrays.fill(restored.sensitivity, ReliabilityModel.PRIOR_ACCURACY);
        java.util.Arrays.fill(restored.specificity, ReliabilityModel.PRIOR_ACCURACY);
        restored.judged = new long[256];
        restored.saidGood = new long[256];
        for (int i = 0; i < 50; i++) { // only the newest, prm@v62, judged the steps of the window
            restored.judged[i] = 1L << 62;
            restored.saidGood[i] = i % 2 == 0 ? 1L << 62 | 1L << 63 : 0;
        }
        restored.size = 50;
        restored.next = 50;
        restored.learnt = 50;

        restored.learn(LabelledSteps.generate(50, 0.5, List.of(new Judge("prm@v63", 0.9, 0.8, 1.0)), 2), WINDOW);

        assertEquals(Set.of("prm@v62", "prm@v63"), restored.reliabilities().keySet());
        assertEquals(100, restored.size, "every step of prm@v63 learnt, from the first");
    }

    @Test
    void tellsAtMost63VerifiersWithVerdictsInTheWindowApart() {
        List<LabelledStep> steps = new ArrayList<>();
        for (int v = 0; v < 70; v++) {
            steps.add(new LabelledStep(Map.of("v" + v, true), true));
        }
        ReliabilityModel model = new ReliabilityModel();
        model.learn(steps, WINDOW);
        assertEquals(ReliabilityModel.MAX_VERIFIERS, model.verifiers.length);
        assertEquals(ReliabilityModel.MAX_VERIFIERS, model.size, "steps judged only by unknown verifiers are left out");
        assertFalse(model.reliabilities().containsKey("v69"));
    }

    @Test
    void isAFlinkPojoThatSurvivesACheckpoint() throws Exception {
        TypeInformation<ReliabilityModel> info = TypeInformation.of(ReliabilityModel.class);
        assertTrue(info instanceof PojoTypeInfo, "serialized by Flink's POJO serializer, not Kryo");
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false);
        TypeSerializer<ReliabilityModel> serializer = info.createSerializer(config);

        ReliabilityModel model = learnInBatches(LabelledSteps.generate(600, 0.5, LabelledSteps.PANEL, 9), 200, WINDOW);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        serializer.serialize(model, out);
        ReliabilityModel restored = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));

        assertEquals(model.reliabilities(), restored.reliabilities());
        List<LabelledStep> more = LabelledSteps.generate(300, 0.5, LabelledSteps.PANEL, 10);
        model.learn(more, WINDOW);
        restored.learn(more, WINDOW);
        assertEquals(model.reliabilities(), restored.reliabilities(), "the restored model learns on identically");
    }
}
