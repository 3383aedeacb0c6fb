package io.strawless.ops.score;

import io.strawless.ops.ConfigurationOptions;
import io.strawless.ops.score.TrajectoryJsonLines.InvalidLineException;
import io.strawless.pipeline.StrawlessOptions;
import io.strawless.pipeline.credit.Credit;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.CreditOptions.Backend;
import io.strawless.pipeline.credit.CreditOptions.Preset;
import io.strawless.pipeline.credit.CreditScorer;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.credit.Trajectory;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code strawless score}: the job's scoring on a file, for researchers. The whole input is one micro-batch, so
 * a group is the lines that share a group id; the scorer is the job's {@link CreditScorer}, configured from the
 * same credit.* keys, without what the job learns from its stream: learnt verifier weights (see {@link
 * #withoutLearntWeights}) and the quarantine.
 */
@Command(
        name = "score",
        header = "Score trajectories read as JSON lines from stdin; write their per-step credit as JSON lines"
                + " to stdout.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Input, one trajectory per line: {\"trajectory_id\": \"t1\", \"group_id\": \"g1\", \"task_id\": \"k1\","
                + " \"outcome\": 1.0, \"terminal\": \"TERMINATED\", \"bootstrap_value\": null, \"baseline\": null,"
                + " \"steps\": [{\"index\": 0, \"reward\": 0.0, \"value\": 0.5, \"trainable\": true,"
                + " \"observation_key\": \"s0\", \"verifier_scores\": {\"v1\": 0.9}}]}. Only trajectory_id and steps"
                + " are required; which numbers an estimator needs, it says.",
            "Output, one line per input trajectory, in input order: {\"trajectory_id\": \"t1\", \"steps\":"
                + " [{\"index\": 0, \"advantage\": 0.12, \"return\": 0.62}]}.",
            "The whole input is scored as one micro-batch: a group is the lines that share a group_id.",
            "Offline there is no verifier reliability model (the job learns one from its stream of verdicts), so no"
                + " learnt verifier weights and no quarantine: under process the verifiers are weighted by"
                + " credit.verifier-weights alone, as reliability.weight-verifiers=false does in the job, and the"
                + " fingerprint printed on stderr is that setting's. Batches the job scored with learnt weights (its"
                + " default) carry another fingerprint; reliability.weight-verifiers=true is refused. No trajectory is"
                + " a suspect.",
            "Exit code 0 when every line was scored, 2 for bad usage or bad input (one line on stderr per bad line,"
                + " and no output), 1 when scoring failed."})
public final class ScoreCommand implements Callable<Integer> {

    private static final int USAGE_OR_INPUT_ERROR = 2;

    @Option(names = "--estimator", required = true, paramLabel = "E",
            description = "Estimator (credit.estimator): ${COMPLETION-CANDIDATES}.")
    private Estimator estimator;

    @Option(names = "--preset", paramLabel = "P",
            description = "Conventions of a framework (credit.preset): ${COMPLETION-CANDIDATES}.")
    private Preset preset;

    @Option(names = "--backend", paramLabel = "B",
            description = "Where kernels run (credit.backend): ${COMPLETION-CANDIDATES}.")
    private Backend backend;

    @Option(names = "--gamma", paramLabel = "G", description = "Discount factor (credit.gamma).")
    private Double gamma;

    @Option(names = "--lambda", paramLabel = "L", description = "GAE lambda (credit.lambda).")
    private Double lambda;

    /** Any other credit.* key; the flags above win over the same key here. */
    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        CreditConfig config;
        Map<String, String> flags = new LinkedHashMap<>();
        try {
            // Checked as -D values are (a value that does not read says what the key takes), then as the job checks
            // them (the fingerprint printed counts settings the scorer does not read, such as baseline.decay: one the
            // job refuses would name numbers no batch carries), then as the scorer reads it.
            Configuration settings = StrawlessOptions.checked(creditConfiguration(flags));
            FingerprintCommand.checkAsTheJobDoes(settings);
            config = CreditConfig.from(withoutLearntWeights(settings));
        } catch (IllegalArgumentException e) {
            err.println("strawless score: " + ConfigurationOptions.namingFlags(e.getMessage(), flags));
            err.flush();
            return USAGE_OR_INPUT_ERROR;
        }
        if (interactive()) {
            // Run from a terminal with nothing piped in, it would seem to hang.
            err.println("strawless score: reading trajectories, one JSON line each, from stdin until it ends"
                    + " (Ctrl-D); pipe a file in, e.g. strawless score ... < trajectories.jsonl");
            err.flush();
        }
        List<Trajectory> trajectories = readStdin(config, err);
        if (trajectories == null) {
            return USAGE_OR_INPUT_ERROR;
        }
        if (trajectories.isEmpty()) {
            // Nothing to score: no backend is opened (auto would time OpenCL and Java on a batch of none).
            err.printf(Locale.ROOT, "strawless score: no trajectories on stdin, nothing scored (%s)%n",
                    config.fingerprint());
            err.flush();
            return 0;
        }
        // One micro-batch of every trajectory: auto measures the backends on one of that size.
        try (CreditScorer scorer = new CreditScorer(config, trajectories.size())) {
            List<Credit> credits;
            try {
                credits = scorer.score(trajectories);
            } catch (IllegalArgumentException e) { // a group whose members do not go together (InputCheck)
                err.println("strawless score: " + e.getMessage());
                err.flush();
                return USAGE_OR_INPUT_ERROR;
            }
            boolean overflowed = false;
            for (Credit credit : credits) {
                if (!credit.isFinite()) {
                    err.println("strawless score: trajectory " + credit.trajectoryId() + ": its credit is not a finite"
                            + " number (a reward, value or outcome of it or of its group is too large for the arithmetic)");
                    overflowed = true;
                }
            }
            if (overflowed) {
                err.flush();
                return USAGE_OR_INPUT_ERROR;
            }
            // Buffered: picocli's writer flushes on every println, a system call per line.
            PrintWriter out = new PrintWriter(new BufferedWriter(spec.commandLine().getOut()));
            for (int t = 0; t < trajectories.size(); t++) {
                out.println(TrajectoryJsonLines.write(trajectories.get(t), credits.get(t)));
            }
            out.flush();
            err.printf(Locale.ROOT, "strawless score: scored %d trajectories with %s on %s%n", trajectories.size(),
                    config.fingerprint(), scorer.device());
            err.flush();
        }
        return 0;
    }

    /**
     * Whether the command runs at a terminal. Before Java 22 a console exists only when stdin and stdout both are
     * one; from Java 22 one may exist without (JDK-8308591), and {@code Console.isTerminal} (22 and later, read by
     * reflection: the code is built for 17) says whether it is one.
     */
    private static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException before22) {
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    /**
     * {@code settings} as this command scores them: under process, with {@code reliability.weight-verifiers=false},
     * since the scorer weights verifiers by {@code credit.verifier-weights} alone (no reliability model is learnt
     * offline); so the fingerprint printed names the rule the numbers were computed by. The setting is off the other
     * estimators' fingerprints, and left as it is there.
     *
     * @throws IllegalArgumentException where {@code reliability.weight-verifiers=true} is asked of process
     */
    private static Configuration withoutLearntWeights(Configuration settings) {
        if (settings.get(CreditOptions.ESTIMATOR) != Estimator.PROCESS) {
            return settings;
        }
        ConfigOption<Boolean> learntWeights = ReliabilityOptions.WEIGHT_VERIFIERS;
        if (settings.contains(learntWeights) && settings.get(learntWeights)) {
            throw new IllegalArgumentException(learntWeights.key() + "=true: the verifier weights the job learns from"
                    + " its stream of verdicts cannot be learnt from a file; score weights verifiers by"
                    + " credit.verifier-weights alone: leave the key out, or set it to false");
        }
        Configuration offline = new Configuration(settings);
        offline.set(learntWeights, false);
        return offline;
    }

    /**
     * The -D settings with the flags on top: each flag is a shorthand for its credit.* key. {@code flags} gets the key
     * each flag given set.
     */
    private Configuration creditConfiguration(Map<String, String> flags) {
        Map<String, String> settings = new HashMap<>(configuration.toConfiguration().toMap());
        putIfSet(settings, flags, CreditOptions.ESTIMATOR.key(), "--estimator", estimator);
        putIfSet(settings, flags, CreditOptions.PRESET.key(), "--preset", preset);
        putIfSet(settings, flags, CreditOptions.BACKEND.key(), "--backend", backend);
        putIfSet(settings, flags, CreditOptions.GAMMA.key(), "--gamma", gamma);
        putIfSet(settings, flags, CreditOptions.LAMBDA.key(), "--lambda", lambda);
        return Configuration.fromMap(settings);
    }

    private static void putIfSet(
            Map<String, String> settings, Map<String, String> flags, String key, String flag, Object value) {
        if (value != null) {
            settings.put(key, value.toString());
            flags.put(key, flag);
        }
    }

    /**
     * The trajectories on stdin, each checked by the scorer as it is read; null after reporting every bad line
     * (blank lines are skipped, but counted, so line numbers match an editor's).
     */
    private static List<Trajectory> readStdin(CreditConfig config, PrintWriter err) throws IOException {
        List<Trajectory> trajectories = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        boolean bad = false;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int lineNumber = 0;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            try {
                Trajectory trajectory = TrajectoryJsonLines.read(line);
                Integer firstLine = lineOfId.putIfAbsent(trajectory.id(), lineNumber);
                if (firstLine != null) {
                    throw new InvalidLineException(
                            "trajectory_id: '" + trajectory.id() + "' is also on line " + firstLine);
                }
                CreditScorer.validate(trajectory, config);
                trajectories.add(trajectory);
            } catch (InvalidLineException | IllegalArgumentException e) {
                err.println("line " + lineNumber + ": " + e.getMessage());
                bad = true;
            }
        }
        err.flush();
        return bad ? null : trajectories;
    }
}
