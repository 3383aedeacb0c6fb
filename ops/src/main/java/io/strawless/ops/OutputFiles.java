package io.strawless.ops;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Checks the file a flag names for a command's results before the command runs: the results come after minutes
 * of work, and a mistyped directory would otherwise throw them away at the very end.
 */
public final class OutputFiles {

    private OutputFiles() {}

    /**
     * A usage error naming {@code flag} unless {@code file} can be written: its directory exists and is writable,
     * and the file itself is not a directory nor read-only.
     */
    public static void requireWritable(CommandSpec spec, String flag, Path file) {
        Path absolute = file.toAbsolutePath();
        Path directory = absolute.getParent();
        String problem = null;
        if (directory != null && !Files.isDirectory(directory)) {
            problem = "directory " + directory + " does not exist";
        } else if (directory != null && !Files.isWritable(directory)) {
            problem = "directory " + directory + " is not writable";
        } else if (Files.isDirectory(absolute)) {
            problem = "it is a directory; name a file";
        } else if (Files.exists(absolute) && !Files.isWritable(absolute)) {
            problem = "the file is not writable";
        }
        if (problem != null) {
            throw new ParameterException(spec.commandLine(), "Invalid value: " + flag + " " + file + ": " + problem);
        }
    }
}
