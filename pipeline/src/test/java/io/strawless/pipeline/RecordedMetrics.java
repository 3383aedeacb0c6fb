package io.strawless.pipeline;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.groups.TaskMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;

/**
 * The metrics that an operator under a test harness registers, kept so a test can read them: give the harness
 * {@link #environment()}. A harness's own environment registers metrics nowhere.
 */
public final class RecordedMetrics {

    private final Map<String, Metric> byIdentifier = new ConcurrentHashMap<>();
    private final MockEnvironment environment;

    public RecordedMetrics() {
        TestingMetricRegistry registry = TestingMetricRegistry.builder()
                .setRegisterConsumer((metric, name, group) -> byIdentifier.put(group.getMetricIdentifier(name), metric))
                .build();
        TaskMetricGroup task = TaskManagerMetricGroup.createTaskManagerMetricGroup(registry, "host", ResourceID.generate())
                .addJob(new JobID(), "job")
                .addTask(ExecutionAttemptID.randomId(), "task");
        environment = new MockEnvironmentBuilder().setMetricGroup(task).build();
    }

    public MockEnvironment environment() {
        return environment;
    }

    /** The count of the counter registered under {@code name} in its operator (e.g. {@code grouping.unscored.LATE}); 0 when none was. */
    public long count(String name) {
        return byIdentifier.entrySet().stream()
                .filter(e -> e.getKey().endsWith("." + name) && e.getValue() instanceof Counter)
                .mapToLong(e -> ((Counter) e.getValue()).getCount())
                .sum();
    }

    /**
     * The counters registered so far under the group {@code group} (e.g. {@code ledger}), by their name below it
     * ({@code steps.in}), with their counts.
     */
    public Map<String, Long> counters(String group) {
        Map<String, Long> counters = new TreeMap<>();
        String infix = "." + group + ".";
        byIdentifier.forEach((identifier, metric) -> {
            int at = identifier.indexOf(infix);
            if (at >= 0 && metric instanceof Counter counter) {
                counters.merge(identifier.substring(at + infix.length()), counter.getCount(), Long::sum);
            }
        });
        return counters;
    }
}
