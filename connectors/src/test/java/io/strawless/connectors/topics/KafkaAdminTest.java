package io.strawless.connectors.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/** A timed-out admin call blames the address only where no broker answered. */
class KafkaAdminTest {

    private static final Configuration CONF = Configuration.fromMap(
            Map.of("kafka.bootstrap-servers", "kafka:9092", "kafka.admin-timeout", "5s"));

    private static Exception awaitFailing(String timeoutMessage) {
        KafkaFutureImpl<String> call = new KafkaFutureImpl<>();
        call.completeExceptionally(new TimeoutException(timeoutMessage));
        return assertThrows(IllegalStateException.class, () -> KafkaAdmin.await(CONF, call));
    }

    @Test
    void noBrokerToSendTheCallToIsAnUnreachableCluster() {
        Exception e = awaitFailing("Timed out waiting for a node assignment. Call: listTopics");
        assertInstanceOf(KafkaUnreachableException.class, e);
        assertEquals("Kafka broker not reachable at kafka:9092 within 5s (set kafka.bootstrap-servers)", e.getMessage());
    }

    /** What Kafka's own admin client says when nothing listens at the address is read as unreachable. */
    @Test
    void aRealClientWithNoBrokerThereIsAnUnreachableCluster() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        Configuration conf = Configuration.fromMap(
                Map.of("kafka.bootstrap-servers", "127.0.0.1:" + closedPort, "kafka.admin-timeout", "1s"));
        try (Admin admin = KafkaAdmin.create(conf)) {
            Exception e = assertThrows(IllegalStateException.class,
                    () -> KafkaAdmin.await(conf, admin.describeCluster().nodes()));
            assertInstanceOf(KafkaUnreachableException.class, e, e.getMessage());
        }
    }

    @Test
    void aBrokerTheCallCouldNotBeSentToIsUnreachable() {
        Exception e = awaitFailing("Timed out waiting to send the call. Call: listOffsets");
        assertInstanceOf(KafkaUnreachableException.class, e);
        assertEquals("Kafka broker not reachable: kafka:9092 answered, but the broker a call went to did not within"
                + " 5000 ms (check that the brokers' advertised.listeners can be reached from here)", e.getMessage());
    }

    @Test
    void aCallTheClusterWasSlowToAnswerNamesTheTimeout() {
        Exception e = awaitFailing("Call(callName=listOffsets(api=LIST_OFFSETS), deadlineMs=1, tries=3,"
                + " nextAllowedTryMs=2) timed out at 3 after 3 attempt(s)");
        assertInstanceOf(KafkaAdminTimeoutException.class, e);
        assertTrue(e.getMessage().startsWith("A Kafka admin call to kafka:9092 timed out after 5000 ms, though the"
                + " cluster answered (Call(callName=listOffsets"), e.getMessage());
        assertTrue(e.getMessage().endsWith("raise kafka.admin-timeout if the cluster is slow to answer"),
                e.getMessage());

        // The provisioner says which topic's creation it was.
        KafkaAdminTimeoutException creating = ((KafkaAdminTimeoutException) e).whileDoing("creating topic credit.batches");
        assertEquals("creating topic credit.batches: " + e.getMessage(), creating.getMessage());
        assertEquals(e.getCause(), creating.getCause());
    }
}
