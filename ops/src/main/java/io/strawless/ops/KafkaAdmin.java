package io.strawless.ops;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.KafkaAdminTimeoutException;
import io.strawless.connectors.topics.KafkaUnreachableException;
import io.strawless.connectors.topics.TopicProvisioner;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * Admin clients for the commands, made as the topic provisioner makes its own: with {@link
 * KafkaOptions#adminProperties} (the {@code kafka.client.*} settings, and every call giving up after {@code
 * kafka.admin-timeout} rather than the client's default minute), and an absent broker reported as {@link
 * KafkaUnreachableException}, one line that names the address; a setting the client refuses says so instead.
 */
public final class KafkaAdmin {

    private KafkaAdmin() {}

    /** An admin client of the cluster of {@code conf}. */
    public static Admin create(ReadableConfig conf) {
        try {
            return Admin.create(KafkaOptions.adminProperties(conf));
        } catch (KafkaException e) {
            throw TopicProvisioner.cannotCreateAdmin(conf, e); // a bad kafka.client.* setting is no absent broker
        }
    }

    /**
     * The value of an admin call to the cluster of {@code conf}; its timeout as {@link KafkaUnreachableException} where
     * no broker answered, else as {@link KafkaAdminTimeoutException} (see {@link KafkaAdminTimeoutException#of}).
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
}
