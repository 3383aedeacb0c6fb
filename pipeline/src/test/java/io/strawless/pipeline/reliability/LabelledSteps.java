package io.strawless.pipeline.reliability;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Labelled steps with a known truth, for the reliability tests: each step is good with probability {@code
 * goodShare}; each verifier judges it with probability {@code coverage} and is right with its sensitivity
 * (on good steps) or specificity (on bad ones); the outcome is one more judge with its own.
 */
final class LabelledSteps {

    record Judge(String id, double sensitivity, double specificity, double coverage) {
        double reliability() {
            return (sensitivity + specificity) / 2;
        }
    }

    static final Judge CHECKER = new Judge("checker", 0.95, 0.93, 0.9);
    static final Judge PRM = new Judge("prm", 0.90, 0.80, 0.7);
    static final Judge UNRELIABLE = new Judge("rater", 0.62, 0.58, 0.8);
    static final Judge ALWAYS_GOOD = new Judge("stamp", 1.0, 0.0, 0.6);
    static final List<Judge> PANEL = List.of(CHECKER, PRM, UNRELIABLE, ALWAYS_GOOD);
    static final Judge OUTCOME = new Judge("outcome", 0.75, 0.70, 1.0);

    private LabelledSteps() {}

    static List<LabelledStep> generate(int count, double goodShare, List<Judge> panel, long seed) {
        Random random = new Random(seed);
        List<LabelledStep> steps = new ArrayList<>(count);
        while (steps.size() < count) {
            boolean good = random.nextDouble() < goodShare;
            Map<String, Boolean> saidGood = new LinkedHashMap<>();
            for (Judge judge : panel) {
                if (random.nextDouble() < judge.coverage()) {
                    saidGood.put(judge.id(), says(judge, good, random));
                }
            }
            if (!saidGood.isEmpty()) {
                steps.add(new LabelledStep(saidGood, says(OUTCOME, good, random)));
            }
        }
        return steps;
    }

    private static boolean says(Judge judge, boolean good, Random random) {
        return good ? random.nextDouble() < judge.sensitivity() : random.nextDouble() >= judge.specificity();
    }
}
