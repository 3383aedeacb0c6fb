package io.strawless.pipeline.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.reliability.LabelledSteps.Judge;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    void tellsAtMost63VerifiersApart() {
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
