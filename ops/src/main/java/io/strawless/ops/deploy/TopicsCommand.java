package io.strawless.ops.deploy;

import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import io.strawless.ops.ConfigurationOptions;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code strawless topics}: creates (or checks) the topics the job reads and writes, before a deployment. */
@Command(
        name = "topics",
        header = "Create (or check) the Kafka topics the job reads and writes.",
        sortOptions = false,
        description = {
                "Creates the Strawless topics that are missing on the cluster named by -D"
                        + " kafka.bootstrap-servers=HOST:PORT (names, partitions, replication, retention from the"
                        + " topics.* keys), or with --check only reports. A topic that exists but differs from the"
                        + " configuration is reported as DRIFT and left unchanged.",
                "Exit code 0 when every topic exists as configured, 1 otherwise, 2 for bad usage."})
public final class TopicsCommand implements Callable<Integer> {

    @Option(names = "--check", description = "Change nothing; only report each topic.")
    private boolean check;

    @Mixin
    private ConfigurationOptions configuration;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    private boolean help;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        List<TopicStatus> statuses = check
                ? TopicProvisioner.check(configuration.toConfiguration())
                : TopicProvisioner.ensureTopics(configuration.toConfiguration());
        PrintWriter out = spec.commandLine().getOut();
        for (TopicStatus status : statuses) {
            out.printf("%-20s %-8s %s%n", status.topic(), status.state(), status.detail());
        }
        out.flush();
        return statuses.stream().allMatch(TopicStatus::ok) ? 0 : 1;
    }
}
