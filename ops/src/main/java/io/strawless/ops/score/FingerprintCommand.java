package io.strawless.ops.score;

import io.strawless.ops.ConfigurationOptions;
import io.strawless.pipeline.StrawlessJob;
import io.strawless.pipeline.credit.CreditConfig;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code strawless fingerprint}: the {@code config_fingerprint} the job's batches carry under a configuration, so that
 * a trainer can filter on it ({@code trainer.config-fingerprint}) before any batch was written, or check which
 * configuration a batch came from. It is the job's own computation, {@link CreditConfig#fingerprint}, from the same
 * keys: the job, a backfill and this command agree for the same settings.
 */
@Command(
        name = "fingerprint",
        header = "Print the config_fingerprint of the batches the job writes under the given settings.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Pass the settings the job runs with, as -D key=value (the same keys as on the cluster or for backfill)."
                + " The fingerprint names the estimator and its credit.* settings, and the job's other settings that"
                + " change that estimator's numbers (baseline.*, quarantine.*, reliability.*) where they are not at"
                + " their defaults; settings that change no number of it, such as the topics, leave it alone.",
            "Exit code 0, or 2 for a key or value the job refuses (one line on stderr)."})
public final class FingerprintCommand implements Callable<Integer> {

    private static final int USAGE_ERROR = 2;

    @Mixin
    private ConfigurationOptions configuration;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        String fingerprint;
        try {
            Configuration conf = configuration.toConfiguration();
            checkAsTheJobDoes(conf);
            fingerprint = CreditConfig.from(conf).fingerprint();
        } catch (IllegalArgumentException e) { // a setting the job refuses
            PrintWriter err = spec.commandLine().getErr();
            err.println("strawless fingerprint: " + e.getMessage());
            err.flush();
            return USAGE_ERROR;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(fingerprint);
        out.flush();
        return 0;
    }

    /**
     * Refuses, with an {@link IllegalArgumentException} naming the key, what the job would refuse to start with: not
     * only the credit settings' checks, since a baseline.decay of 1.5 would have a fingerprint that no batch ever
     * carries. The job also refuses to run without checkpoints, whose interval changes no number: one is lent where
     * none is given.
     */
    static void checkAsTheJobDoes(Configuration conf) {
        Configuration checked = new Configuration(conf);
        if (!checked.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)) {
            checked.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(10));
        }
        StrawlessJob.checkSettings(checked);
    }
}
