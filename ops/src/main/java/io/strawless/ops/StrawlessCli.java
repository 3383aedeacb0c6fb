package io.strawless.ops;

import io.strawless.connectors.topics.KafkaAdminTimeoutException;
import io.strawless.connectors.topics.KafkaUnreachableException;
import io.strawless.ops.demo.DemoCommand;
import io.strawless.ops.deploy.TopicsCommand;
import io.strawless.pipeline.StrawlessOptions;
import io.strawless.pipeline.StrawlessOptions.Declared;
import java.io.PrintWriter;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code strawless} command line. Exit codes: 0 success, 1 failure (for {@code demo}: the counts do not
 * reconcile, or the run broke), 2 bad usage (unknown flag, bad value).
 */
@Command(
        name = "strawless",
        description = "Per-step credit for agent trajectories, computed online from production traffic.",
        // -h/--help and -V/--version on every command, from picocli.
        scope = CommandLine.ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = StrawlessCli.Version.class,
        subcommands = {
            DemoCommand.class,
            TopicsCommand.class,
            io.strawless.ops.score.ScoreCommand.class,
            io.strawless.ops.bench.BenchKernelsCommand.class,
            io.strawless.ops.bench.BenchCommand.class,
            io.strawless.ops.backfill.BackfillCommand.class,
            io.strawless.ops.evaluate.EvaluateCommand.class,
            io.strawless.ops.score.FingerprintCommand.class,
            CommandLine.HelpCommand.class
        })
public final class StrawlessCli implements Runnable {

    @Spec
    private CommandSpec spec;

    public static void main(String[] args) {
        // Aparapi's java.util.logging warnings (class-file attributes it skips) are not news to a CLI user;
        // the job logs kernel fallbacks itself. Aparapi reads its log level from this property once.
        System.setProperty("com.aparapi.logLevel", "SEVERE");
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call {@code execute} on it instead of {@link #main}. */
    public static CommandLine commandLine() {
        CommandLine commandLine =
                new CommandLine(new StrawlessCli()).setExecutionExceptionHandler(StrawlessCli::reportFailure)
                        .setParameterExceptionHandler(StrawlessCli::reportUsageError);
        // A flag typed as an enum setting's values (score --estimator takes credit.estimator's) reads them as -D does.
        for (Class<?> holder : StrawlessOptions.OPTION_CLASSES) {
            for (Declared declared : StrawlessOptions.declaredBy(holder)) {
                if (declared.valueType() instanceof Class<?> type && type.isEnum()) {
                    readAsSetting(commandLine, type, declared.option());
                }
            }
        }
        return commandLine;
    }

    /**
     * Reads a flag of {@code type}, the values of the setting {@code option}, as the configuration reads the setting:
     * by the names the configuration reference lists, in any case; a name that is none of them is refused with the
     * key and those names (picocli adds the flag). Picocli's own conversion would list each Java name besides.
     */
    private static <T> void readAsSetting(CommandLine commandLine, Class<T> type, ConfigOption<?> option) {
        commandLine.registerConverter(type, value -> {
            try {
                return type.cast(Configuration.fromMap(Map.of(option.key(), value)).get(option));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(StrawlessOptions.unreadable(option, e));
            }
        });
    }

    /**
     * A flag that is unknown, missing or whose value does not read: picocli's message, which names the flag and what
     * it takes, any close matches of a mistyped one, and where the usage is; not the whole usage after it, which
     * buries the one line that says what to fix.
     */
    private static int reportUsageError(ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        PrintWriter err = commandLine.getErr();
        err.println(e.getMessage());
        UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + commandLine.getCommandSpec().qualifiedName() + " --help' for usage.");
        err.flush();
        return commandLine.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * A failed run prints what went wrong and why, one line per cause, rather than a stack trace; a broker that
     * cannot be reached is one line that says what to set. A refusal (an illegal state or argument: an output topic
     * that holds records, a setting that cannot work) is its message alone: the class name says nothing to a user.
     */
    private static int reportFailure(Exception failure, CommandLine commandLine, ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof KafkaUnreachableException || cause instanceof KafkaAdminTimeoutException) {
                err.println(commandLine.getCommandSpec().qualifiedName() + ": " + cause.getMessage());
                err.flush();
                return commandLine.getCommandSpec().exitCodeOnExecutionException();
            }
        }
        boolean refusal = (failure instanceof IllegalStateException || failure instanceof IllegalArgumentException)
                && failure.getMessage() != null;
        err.println(commandLine.getCommandSpec().qualifiedName() + " failed: "
                + (refusal ? failure.getMessage() : failure.toString()));
        for (Throwable cause = failure.getCause(); cause != null; cause = cause.getCause()) {
            err.println("  caused by: " + cause);
        }
        err.flush();
        return commandLine.getCommandSpec().exitCodeOnExecutionException();
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: try 'strawless demo'");
    }

    /** The version the jar's manifest names (Maven fills it), or a development build's. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = StrawlessCli.class.getPackage().getImplementationVersion();
            return new String[] {"strawless " + (version == null ? "(development build)" : version)};
        }
    }
}
