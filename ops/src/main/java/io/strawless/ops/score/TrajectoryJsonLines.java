package io.strawless.ops.score;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strawless.pipeline.credit.Credit;
import io.strawless.pipeline.credit.Step;
import io.strawless.pipeline.credit.Trajectory;
import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON-lines format of {@code strawless score}: one trajectory per input line, one credit per output line.
 *
 * <p>Input: {@code trajectory_id} (string) and {@code steps} (array) are required. Optional, absent or null
 * meaning "none": {@code group_id}, {@code task_id} (strings), {@code outcome}, {@code bootstrap_value},
 * {@code baseline} (numbers), {@code terminal} ({@code TERMINATED} by default, or {@code TRUNCATED}, {@code
 * NONE}). Each step, all optional: {@code index} (integer, by default its position), {@code reward}, {@code
 * value} (numbers), {@code trainable} (boolean, default true), {@code observation_key} (string), {@code
 * verifier_scores} (object of verifier id to number). Whether an absent number is acceptable depends on the
 * estimator, and the scorer says so. An explicit {@code NaN} or {@code Infinity} (Python's json writes them) is
 * rejected with its field, as the job dead-letters a number that is not finite: it is not read as absent. Unknown
 * fields are rejected, so that a misspelt field cannot silently read as absent.
 *
 * <p>Output: {@code {"trajectory_id": ..., "steps": [{"index": ..., "advantage": ..., "return": ...}]}}.
 */
final class TrajectoryJsonLines {

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final Set<String> TRAJECTORY_FIELDS = Set.of("trajectory_id", "group_id", "task_id", "outcome",
            "terminal", "bootstrap_value", "baseline", "steps");
    private static final Set<String> STEP_FIELDS = Set.of("index", "reward", "value", "trainable", "observation_key",
            "verifier_scores");
    /** Longest excerpt of an offending value quoted in a message. */
    private static final int QUOTE_LIMIT = 40;

    private TrajectoryJsonLines() {}

    /** A line that is not a trajectory; the message names the field (a JSON path) and the problem. */
    static final class InvalidLineException extends Exception {
        InvalidLineException(String message) {
            super(message);
        }
    }

    /** Parses one input line. */
    static Trajectory read(String line) throws InvalidLineException {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " (column " + e.getLocation().getColumnNr() + ")";
            throw new InvalidLineException("not valid JSON: " + firstLine(e.getOriginalMessage()) + where);
        }
        if (!root.isObject()) {
            throw new InvalidLineException("expected a JSON object, got " + quote(root));
        }
        requireKnownFields(root, "", TRAJECTORY_FIELDS);
        String id = text(root, "trajectory_id", "trajectory_id");
        if (id == null) {
            throw new InvalidLineException("trajectory_id: required");
        }
        JsonNode steps = root.get("steps");
        if (steps == null || !steps.isArray()) {
            throw new InvalidLineException("steps: expected an array of steps, got " + quote(steps));
        }
        List<Step> parsedSteps = new ArrayList<>(steps.size());
        for (int position = 0; position < steps.size(); position++) {
            parsedSteps.add(step(steps.get(position), position));
        }
        return new Trajectory(id, text(root, "group_id", "group_id"), text(root, "task_id", "task_id"),
                number(root, "outcome", "outcome"), terminal(root), number(root, "bootstrap_value", "bootstrap_value"),
                number(root, "baseline", "baseline"), parsedSteps);
    }

    /** The output line of {@code trajectory}'s credit. */
    static String write(Trajectory trajectory, Credit credit) {
        ObjectNode line = JSON.createObjectNode();
        line.put("trajectory_id", trajectory.id());
        ArrayNode steps = line.putArray("steps");
        for (int s = 0; s < trajectory.steps().size(); s++) {
            ObjectNode step = steps.addObject()
                    .put("index", trajectory.steps().get(s).index())
                    .put("advantage", credit.advantages()[s])
                    .put("return", credit.returns()[s]);
            // Under process: what the step's verdicts added, as the batch's process_reward; absent where none did.
            if (credit.processRewards() != null && !Double.isNaN(credit.processRewards()[s])) {
                step.put("process_reward", credit.processRewards()[s]);
            }
        }
        try {
            return JSON.writeValueAsString(line);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers always serializes", e);
        }
    }

    private static Step step(JsonNode step, int position) throws InvalidLineException {
        String path = "steps[" + position + "]";
        if (!step.isObject()) {
            throw new InvalidLineException(path + ": expected a step object, got " + quote(step));
        }
        requireKnownFields(step, path + ".", STEP_FIELDS);
        int index = position;
        JsonNode indexNode = step.get("index");
        if (isPresent(indexNode)) {
            if (!indexNode.isIntegralNumber() || !indexNode.canConvertToInt()) {
                throw new InvalidLineException(path + ".index: expected an integer, got " + quote(indexNode));
            }
            index = indexNode.intValue();
        }
        boolean trainable = true;
        JsonNode trainableNode = step.get("trainable");
        if (isPresent(trainableNode)) {
            if (!trainableNode.isBoolean()) {
                throw new InvalidLineException(
                        path + ".trainable: expected true or false, got " + quote(trainableNode));
            }
            trainable = trainableNode.booleanValue();
        }
        return new Step(index, number(step, "reward", path + ".reward"), number(step, "value", path + ".value"),
                trainable, text(step, "observation_key", path + ".observation_key"), verifierScores(step, path));
    }

    private static Map<String, Double> verifierScores(JsonNode step, String path) throws InvalidLineException {
        JsonNode scores = step.get("verifier_scores");
        if (!isPresent(scores)) {
            return Map.of();
        }
        if (!scores.isObject()) {
            throw new InvalidLineException(path + ".verifier_scores: expected an object of verifier to score, got "
                    + quote(scores));
        }
        Map<String, Double> parsed = new LinkedHashMap<>();
        for (Iterator<String> verifiers = scores.fieldNames(); verifiers.hasNext(); ) {
            String verifier = verifiers.next();
            JsonNode score = scores.get(verifier);
            parsed.put(verifier, finite(score, path + ".verifier_scores." + verifier, "leave the verifier out"));
        }
        return parsed;
    }

    private static TerminalKind terminal(JsonNode root) throws InvalidLineException {
        JsonNode terminal = root.get("terminal");
        if (!isPresent(terminal)) {
            return TerminalKind.TERMINATED;
        }
        for (TerminalKind kind : TerminalKind.values()) {
            if (terminal.isTextual() && kind.name().equals(terminal.textValue())) {
                return kind;
            }
        }
        throw new InvalidLineException("terminal: expected one of " + Arrays.toString(TerminalKind.values())
                + ", got " + quote(terminal));
    }

    /** The number in {@code parent.field}, NaN (the scorer's "none") when absent or null. */
    private static double number(JsonNode parent, String field, String path) throws InvalidLineException {
        JsonNode node = parent.get(field);
        return isPresent(node) ? finite(node, path, "leave the field out or write null") : Double.NaN;
    }

    /**
     * The finite number {@code node} holds: an explicit NaN would read as absent, and the job dead-letters both.
     *
     * @param none how the input says "no number" there
     */
    private static double finite(JsonNode node, String path, String none) throws InvalidLineException {
        if (!node.isNumber()) {
            throw new InvalidLineException(path + ": expected a number, got " + quote(node));
        }
        if (!Double.isFinite(node.doubleValue())) {
            // Its value unquoted: the JSON writer would quote a number that is not finite ("NaN").
            throw new InvalidLineException(path + ": expected a finite number, got " + node.asText()
                    + " (for none, " + none + ")");
        }
        return node.doubleValue();
    }

    /** The string in {@code parent.field}, null when absent or null. */
    private static String text(JsonNode parent, String field, String path) throws InvalidLineException {
        JsonNode node = parent.get(field);
        if (!isPresent(node)) {
            return null;
        }
        if (!node.isTextual()) {
            throw new InvalidLineException(path + ": expected a string, got " + quote(node));
        }
        return node.textValue();
    }

    private static void requireKnownFields(JsonNode object, String pathPrefix, Set<String> known)
            throws InvalidLineException {
        for (Iterator<String> fields = object.fieldNames(); fields.hasNext(); ) {
            String field = fields.next();
            if (!known.contains(field)) {
                throw new InvalidLineException(pathPrefix + field + ": unknown field (known: "
                        + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static boolean isPresent(JsonNode node) {
        return node != null && !node.isNull();
    }

    private static String quote(JsonNode node) {
        if (node == null) {
            return "nothing";
        }
        String json = node.toString();
        return json.length() <= QUOTE_LIMIT ? json : json.substring(0, QUOTE_LIMIT) + "...";
    }

    private static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
