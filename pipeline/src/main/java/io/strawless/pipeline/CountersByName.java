package io.strawless.pipeline;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * A family of counters in one metric group, one per name (an input topic, a rule, a reason), registered on
 * first use. Asking Flink's {@code MetricGroup.counter(name)} again for a name it has registers a second
 * counter: Flink logs the collision (building its message every time) and returns the new counter, not the
 * registered one, so what is counted on it is lost. Counting per record that way cost CPU and counted nothing.
 */
public final class CountersByName {

    private final MetricGroup group;
    private final Map<String, Counter> counters = new HashMap<>();

    public CountersByName(MetricGroup group) {
        this.group = group;
    }

    public void inc(String name) {
        counters.computeIfAbsent(name, group::counter).inc();
    }
}
