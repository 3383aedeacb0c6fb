package io.strawless.pipeline.credit;
import java.util.List;
public record Trajectory(String id, String groupId, String taskId, double outcome, io.strawless.schemas.TerminalKind terminal, double bootstrapValue, double baseline, List<Step> steps) {}
