package io.strawless.ops;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** The port probe the Docker tests run before they start a stack, which needs no Docker itself. */
class DockerPreconditionsTest {

    /** Skipped on a developer's machine, failed in CI, as {@link DockerPreconditions} says. */
    private static final Class<? extends Throwable> UNAVAILABLE =
            System.getenv("CI") == null || System.getenv("CI").isEmpty()
                    ? TestAbortedException.class : AssertionError.class;

    @Test
    void aPortSomethingListensOnIsTakenEvenOnLoopbackOnly() throws Exception {
        // Docker publishes on every interface, which a listener on loopback alone keeps it from.
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Throwable refused = assertThrows(UNAVAILABLE,
                    () -> DockerPreconditions.requireFreePorts(listener.getLocalPort()));
            assertTrue(refused.getMessage().startsWith("host port " + listener.getLocalPort() + " is in use"),
                    refused.getMessage());
        }
    }

    @Test
    void aFreePortPasses() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        DockerPreconditions.requireFreePorts(port);
    }
}
