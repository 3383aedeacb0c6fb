package io.strawless.connectors.topics;

import io.strawless.connectors.KafkaOptions;
import java.time.Duration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.common.KafkaException;

/**
 * No broker answered at {@code kafka.bootstrap-servers}; the message names the address and the key to set. Admin
 * clients made with {@link KafkaAdmin} give up after {@code kafka.admin-timeout}, and {@link KafkaAdmin#await} reports
 * a call no broker answered with this, so that an absent broker reads the same from every tool.
 * Not for a broker that answered and refused (a setting, a topic, credentials): that error says what it refused.
 */
public final class KafkaUnreachableException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private KafkaUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }

    /** An admin call to the cluster of {@code conf} timed out. */
    public static KafkaUnreachableException timedOut(ReadableConfig conf, Throwable cause) {
        return new KafkaUnreachableException(message(conf), cause);
    }

    /**
     * An admin call to the cluster of {@code conf} found its broker in the cluster's metadata but could not send it
     * there in time: the bootstrap address answered, the broker's advertised address does not (a listener that
     * names an address inside a container network, say), or the broker went away.
     */
    public static KafkaUnreachableException brokerNotReached(ReadableConfig conf, Throwable cause) {
        Duration timeout = conf.get(KafkaOptions.ADMIN_TIMEOUT);
        return new KafkaUnreachableException("Kafka broker not reachable: " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS)
                + " answered, but the broker a call went to did not within " + timeout.toMillis() + " ms (check that"
                + " the brokers' advertised.listeners can be reached from here)", cause);
    }

    /** No admin client could be made for the cluster of {@code conf}, e.g. its address does not resolve. */
    public static KafkaUnreachableException cannotConnect(ReadableConfig conf, KafkaException cause) {
        return new KafkaUnreachableException(message(conf) + ": " + rootMessage(cause), cause);
    }

    private static String message(ReadableConfig conf) {
        Duration timeout = conf.get(KafkaOptions.ADMIN_TIMEOUT);
        String seconds = timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + "s" : timeout.toMillis() + "ms";
        return "Kafka broker not reachable at " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS) + " within " + seconds
                + " (set " + KafkaOptions.BOOTSTRAP_SERVERS.key() + ")";
    }

    /** The innermost cause, as {@code Class: message}: what the Kafka client's wrappers hide. */
    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
