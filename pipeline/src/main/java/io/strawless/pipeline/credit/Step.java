package io.strawless.pipeline.credit;
import java.util.Map;
public record Step(int index, double reward, double value, boolean trainable, String observationKey, Map<String, Double> verifierScores) {}
