package io.strawless.ops.deploy;

import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import io.strawless.ops.ConfigurationOptions;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code strawless topics create|check}: the topics the job reads and writes, before a deployment. */
@Command(
        name = "topics",
        header = "Create or check the Kafka topics the job reads and writes.",
        subcommands = {TopicsCommand.Create.class, TopicsCommand.Check.class},
        description = {
                "The six Strawless topics on the cluster named by -D kafka.bootstrap-servers=HOST:PORT: names,"
                        + " partitions, replication, retention and min.insync.replicas from the topics.* keys, and"
                        + " cleanup.policy=delete (never compacted). A"
                        + " topic that exists but differs from the configuration is reported as DRIFT and left"
                        + " unchanged.",
                "Exit code 0 when every topic exists as configured, 1 otherwise, 2 for bad usage."})
public final class TopicsCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: strawless topics create, or check");
    }

    @Command(
            name = "create",
            header = "Create the topics that are missing (idempotent) and report every topic.",
            description = "Exit code 0 when every topic exists as configured, 1 on drift, 2 for bad usage.")
    static final class Create extends Report {
        Create() {
            super(TopicProvisioner::ensureTopics);
        }
    }

    @Command(
            name = "check",
            header = "Change nothing; report each topic as EXISTS, MISSING or DRIFT.",
            description = "Exit code 0 when every topic exists as configured, 1 otherwise, 2 for bad usage.")
    static final class Check extends Report {
        Check() {
            super(TopicProvisioner::check);
        }
    }

    /** Runs the provisioner's action and prints a line per topic. */
    abstract static class Report implements Callable<Integer> {

        private final Function<Configuration, List<TopicStatus>> action;

        @Mixin
        private ConfigurationOptions configuration;

        @Spec
        private CommandSpec spec;

        Report(Function<Configuration, List<TopicStatus>> action) {
            this.action = action;
        }

        @Override
        public Integer call() {
            Configuration conf = configuration.toConfiguration();
            List<TopicStatus> statuses;
            try {
                statuses = action.apply(conf);
            } catch (IllegalArgumentException e) {
                // The provisioner's checks of the topics.* settings, and a kafka.client.* value the admin client
                // refuses: a setting to change, not a failed run. An absent broker is an IllegalStateException.
                throw new ParameterException(spec.commandLine(), "-D " + e.getMessage(), e);
            }
            PrintWriter out = spec.commandLine().getOut();
            for (TopicStatus status : statuses) {
                out.printf("%-20s %-8s %s%n", status.topic(), status.state(), status.detail());
            }
            out.flush();
            return statuses.stream().allMatch(TopicStatus::ok) ? 0 : 1;
        }
    }
}
