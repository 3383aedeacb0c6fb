package io.strawless.pipeline.credit;
public record Credit(String trajectoryId, double[] advantages, double[] returns) {}
