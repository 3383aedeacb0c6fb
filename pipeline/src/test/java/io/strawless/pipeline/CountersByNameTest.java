package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

class CountersByNameTest {

    /** As Flink's metric groups: each call makes a new counter, the first one under a name is the registered one. */
    private static final class RegisteringGroup extends UnregisteredMetricsGroup {
        final Map<String, Counter> registered = new HashMap<>();

        @Override
        public Counter counter(String name) {
            Counter counter = new SimpleCounter();
            registered.putIfAbsent(name, counter);
            return counter;
        }
    }

    @Test
    void countsOnTheRegisteredCounterOfEachName() {
        RegisteringGroup group = new RegisteringGroup();
        CountersByName counters = new CountersByName(group);
        counters.inc("agent.steps");
        counters.inc("agent.steps");
        counters.inc("agent.verdicts");
        counters.inc("agent.steps");

        assertEquals(3, group.registered.get("agent.steps").getCount());
        assertEquals(1, group.registered.get("agent.verdicts").getCount());
    }
}
