package io.strawless.connectors.topics;

/**
 * What the provisioner found (or did) for one topic.
 *
 * @param writesFail a drift that makes writes to the topic fail (the job's sinks, or the agents' producers), not
 *     only differ from the configuration: too few replicas for its min.insync.replicas, too small a max.message.bytes
 *     for the job's records, a compacted dead-letter topic
 */
public record TopicStatus(String topic, State state, String detail, boolean writesFail) {

    public enum State {
        /** Did not exist; created as configured. */
        CREATED,
        /** Exists as configured. */
        EXISTS,
        /** Does not exist (reported by a check; provisioning creates it). */
        MISSING,
        /** Exists but differs from the configuration; {@link #detail} says how. Not changed. */
        DRIFT
    }

    /** True when the topic exists as configured. */
    public boolean ok() {
        return state == State.CREATED || state == State.EXISTS;
    }
}
