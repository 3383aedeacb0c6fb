package io.strawless.connectors.topics;

/** No broker answered at {@code kafka.bootstrap-servers}; the message names the address and the key to set. */
public final class KafkaUnreachableException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    KafkaUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
