package io.strawless.connectors.broker;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real Kafka broker inside this JVM: one combined KRaft node (broker and controller) listening on
 * free ports of the loopback interface only, storing its logs in a temporary directory that
 * {@link #close()} deletes. For the laptop demo and for tests; the first start in a JVM takes about
 * four seconds (class loading), so tests share one per test class.
 *
 * <p>Driven through Kafka's own {@link KafkaRaftServer} and storage {@link Formatter}, the two steps
 * {@code kafka-storage.sh format} and {@code kafka-server-start.sh} take. Kafka's test kit
 * ({@code KafkaClusterTestKit}) does the same with more conveniences, but it pre-binds its ports on
 * the wildcard address, so a laptop demo built on it would expose an unauthenticated broker to the
 * network; it is also a test artifact that puts JUnit on the runtime classpath.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /**
     * The released metadata level of Kafka 4.2 ({@code MetadataVersion.LATEST_PRODUCTION} in 4.2.0),
     * pinned so the broker runs what real 4.2 clusters run.
     */
    private static final MetadataVersion METADATA_VERSION = MetadataVersion.IBP_4_2_IV1;

    private static final int NODE_ID = 1;
    private static final String BROKER_LISTENER = "PLAINTEXT";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String HOST = InetAddress.getLoopbackAddress().getHostAddress();

    /** Ports are picked free, then bound by the broker a moment later; another process may win that race. */
    private static final int START_ATTEMPTS = 3;

    private final KafkaRaftServer server;
    private final String bootstrapServers;
    private final Path directory;

    private boolean closed;

    private EmbeddedKafka(KafkaRaftServer server, String bootstrapServers, Path directory) {
        this.server = server;
        this.bootstrapServers = bootstrapServers;
        this.directory = directory;
    }

    /** Formats a fresh data directory, starts the node and returns once the broker is unfenced. */
    public static EmbeddedKafka start() {
        return start(Map.of());
    }

    /**
     * As {@link #start()}, with {@code brokerSettings} added to (or replacing) the node's own, e.g. an authorizer
     * for a test of what a cluster with ACLs refuses.
     */
    public static EmbeddedKafka start(Map<String, String> brokerSettings) {
        RuntimeException failure = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            Path directory = null;
            try {
                directory = Files.createTempDirectory("strawless-kafka-");
                int[] ports = freeLoopbackPorts(2);
                KafkaRaftServer server = startServer(directory, ports[0], ports[1], brokerSettings);
                return new EmbeddedKafka(server, HOST + ":" + ports[0], directory);
            } catch (Exception e) {
                deleteQuietly(directory);
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                RuntimeException attemptFailure =
                        new IllegalStateException("embedded Kafka broker failed to start: " + e, e);
                if (failure == null) {
                    failure = attemptFailure;
                } else {
                    failure.addSuppressed(attemptFailure);
                }
            }
        }
        throw failure;
    }

    /** {@code 127.0.0.1:<port>} of the broker listener. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Stops the node and deletes its data directory; a second call does nothing. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            Utils.delete(directory.toFile());
        }
    }

    private static KafkaRaftServer startServer(
            Path directory, int brokerPort, int controllerPort, Map<String, String> brokerSettings) throws Exception {
        String logDir = directory.resolve("logs").toString();
        new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setNodeId(NODE_ID)
                .setClusterId(Uuid.randomUuid().toString())
                .setDirectories(List.of(logDir))
                .setMetadataLogDirectory(logDir)
                .setReleaseVersion(METADATA_VERSION)
                .setControllerListenerName(CONTROLLER_LISTENER)
                .run();

        Properties properties = brokerProperties(logDir, brokerPort, controllerPort);
        properties.putAll(brokerSettings);
        KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(properties, false), Time.SYSTEM);
        try {
            server.startup(); // returns once the broker is registered and unfenced
        } catch (RuntimeException e) {
            server.shutdown();
            server.awaitShutdown();
            throw e;
        }
        return server;
    }

    private static Properties brokerProperties(String logDir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", Integer.toString(NODE_ID));
        p.setProperty("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        p.setProperty("listeners",
                BROKER_LISTENER + "://" + HOST + ":" + brokerPort + "," + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
        p.setProperty("advertised.listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort);
        p.setProperty("listener.security.protocol.map", BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.setProperty("inter.broker.listener.name", BROKER_LISTENER);
        p.setProperty("controller.listener.names", CONTROLLER_LISTENER);
        p.setProperty("log.dirs", logDir);
        // One node: internal topics cannot have more replicas, and one partition each keeps startup,
        // the first consumer group and the first transaction fast.
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "1");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.num.partitions", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        // transaction.max.timeout.ms stays Kafka's 15 min, as on a stock cluster: a kafka.transaction-timeout above it
        // must fail in the demo and the tests, not first in production.
        // Topics come from the provisioner, as on a real cluster; a typo must not create one.
        p.setProperty("auto.create.topics.enable", "false");
        // The log cleaner allocates this buffer up front: 128 MB by default, far more than a demo needs.
        p.setProperty("log.cleaner.dedupe.buffer.size", Integer.toString(2 * 1024 * 1024));
        return p;
    }

    /** Distinct free ports on the loopback interface (held open together so they differ). */
    private static int[] freeLoopbackPorts(int count) throws IOException {
        ServerSocket[] sockets = new ServerSocket[count];
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                if (socket != null) {
                    socket.close();
                }
            }
        }
    }

    private static void deleteQuietly(Path directory) {
        if (directory == null) {
            return;
        }
        try {
            Utils.delete(directory.toFile());
        } catch (IOException ignored) {
            // A leftover temp directory is not worth hiding the start failure for.
        }
    }
}
