package io.strawless.connectors.topics;

import io.strawless.connectors.KafkaOptions;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The admin clients of every tool (the topic provisioner, the commands): made with {@link
 * KafkaOptions#adminProperties} (the {@code kafka.client.*} settings, and every call giving up after {@code
 * kafka.admin-timeout} rather than the client's default minute), and an absent broker reported as {@link
 * KafkaUnreachableException}, one line that names the address; a setting the client refuses says so instead. One
 * place decides what a timeout means, so that an absent or slow cluster reads the same from every tool.
 */
public final class KafkaAdmin {

    private KafkaAdmin() {}

    /** An admin client of the cluster of {@code conf}. */
    public static Admin create(ReadableConfig conf) {
        try {
            return Admin.create(KafkaOptions.adminProperties(conf));
        } catch (KafkaException e) {
            throw cannotCreate(conf, e);
        }
    }

    /**
     * Refuses, as {@link #create} would, a {@code kafka.client.*} value the admin client does not accept, without
     * making one (no thread, nothing asked of a broker): for the checks a command makes before it changes anything.
     */
    public static void checkSettings(ReadableConfig conf) {
        try {
            new AdminClientConfig(KafkaOptions.adminProperties(conf));
        } catch (ConfigException e) {
            throw cannotCreate(conf, e);
        }
    }

    /**
     * The value of an admin call to the cluster of {@code conf}; its timeout as {@link KafkaUnreachableException} where
     * no broker answered, else as {@link KafkaAdminTimeoutException} (see {@link KafkaAdminTimeoutException#of}). No
     * timeout of its own: the client's {@code default.api.timeout.ms} (set from {@code kafka.admin-timeout}) ends
     * every call.
     */
    public static <T> T await(ReadableConfig conf, KafkaFuture<T> future)
            throws ExecutionException, InterruptedException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException timeout) {
                throw KafkaAdminTimeoutException.of(conf, timeout, e);
            }
            throw e;
        }
    }

    /**
     * Why no admin client could be made. The client validates its settings first ({@link ConfigException}, e.g.
     * {@code kafka.client.security.protocol=SASL_SSLX}); then resolves the bootstrap addresses (a ConfigException
     * about bootstrap.servers, wrapped); then builds its network client from the security settings (e.g. SASL
     * without a JAAS config). Only an address that does not resolve means the broker is not reachable.
     */
    private static RuntimeException cannotCreate(ReadableConfig conf, KafkaException e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof ConfigException && cause.getMessage() != null
                    && cause.getMessage().contains(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)) {
                // bootstrap.servers is kafka.bootstrap-servers: the passthrough refuses it.
                return KafkaUnreachableException.cannotConnect(conf, e);
            }
        }
        if (e instanceof ConfigException) {
            // Kafka's message names the setting and the value (it hides password values); the stack adds nothing.
            return new IllegalArgumentException("bad " + KafkaOptions.CLIENT_PREFIX + "* setting: " + e.getMessage());
        }
        return new IllegalStateException("no Kafka admin client could be made for "
                + conf.get(KafkaOptions.BOOTSTRAP_SERVERS) + " (check the " + KafkaOptions.CLIENT_PREFIX
                + "* settings): " + KafkaUnreachableException.rootMessage(e), e);
    }
}
