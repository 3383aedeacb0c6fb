package io.strawless.connectors.topics;

import io.strawless.connectors.KafkaOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * An admin call to a cluster that answered timed out: the cluster was slow (a coordinator loading, a partition
 * without a leader), not absent, so the message names the call's timeout rather than the address. A broker that never
 * answered is a {@link KafkaUnreachableException}; {@link #of} tells the two apart.
 */
public final class KafkaAdminTimeoutException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private KafkaAdminTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }

    /** This timeout, its message prefixed by what the call was for (e.g. "creating topic credit.batches"). */
    public KafkaAdminTimeoutException whileDoing(String what) {
        return new KafkaAdminTimeoutException(what + ": " + getMessage(), getCause());
    }

    /**
     * The exception for an admin call to the cluster of {@code conf} that timed out with {@code timeout}: unreachable
     * where the admin client never had a broker to send the call to ("Timed out waiting for a node assignment",
     * what an absent or unresolvable cluster gives) or could not send it to the broker it had ("Timed out waiting to
     * send the call", an advertised listener out of reach); else slow.
     */
    public static IllegalStateException of(ReadableConfig conf, TimeoutException timeout, Throwable thrown) {
        String message = String.valueOf(timeout.getMessage());
        if (message.contains("waiting for a node assignment")) {
            return KafkaUnreachableException.timedOut(conf, thrown);
        }
        if (message.contains("waiting to send the call")) {
            return KafkaUnreachableException.brokerNotReached(conf, thrown);
        }
        return new KafkaAdminTimeoutException("A Kafka admin call to " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS)
                + " timed out after " + conf.get(KafkaOptions.ADMIN_TIMEOUT).toMillis() + " ms, though the cluster"
                + " answered (" + message + "): raise " + KafkaOptions.ADMIN_TIMEOUT.key() + " if the cluster is slow"
                + " to answer", thrown);
    }
}
