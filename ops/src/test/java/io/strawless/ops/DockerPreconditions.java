package io.strawless.ops;

import java.io.IOException;
import java.net.ServerSocket;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.images.RemoteDockerImage;
import org.testcontainers.utility.DockerImageName;

/**
 * What the Docker tests need besides Docker itself, which {@code @Testcontainers(disabledWithoutDocker = true)}
 * checks: their images, and the host ports a compose file publishes. Where one is missing the test is skipped,
 * with the reason, as the tests that need OpenCL or the Python packages are; in CI ({@code CI} set, as the
 * installers read it) it fails instead, since a skip there would let a green build hide a test that never ran.
 */
public final class DockerPreconditions {

    private DockerPreconditions() {}

    /**
     * Pulls each image that is not there yet, before the test starts anything: a registry out of reach, a rate
     * limit or a mistyped tag would otherwise fail the test while starting its containers, as if it were broken.
     */
    public static void requireImages(String... images) {
        for (String image : images) {
            try {
                new RemoteDockerImage(DockerImageName.parse(image)).get();
            } catch (RuntimeException e) {
                unavailable("the Docker image " + image + " could not be pulled: " + rootCause(e)
                        + "; pull it with 'docker pull " + image + "' once the registry is reachable");
            }
        }
    }

    /** Each port must be free on the host, where the test's containers publish it (a fixed host port). */
    public static void requireFreePorts(int... ports) {
        for (int port : ports) {
            // Bound on every interface, as Docker publishes a port: whatever listens on it, on any address, is found.
            try (ServerSocket free = new ServerSocket(port)) {
                // closed at once: the port is left to the stack
            } catch (IOException e) {
                unavailable("host port " + port + " is in use (" + e.getMessage() + "), and the stack publishes it;"
                        + " stop what listens there (another compose stack: docker compose ... down)");
            }
        }
    }

    private static void unavailable(String reason) {
        String ci = System.getenv("CI");
        if (ci != null && !ci.isEmpty()) {
            throw new AssertionError(reason + " (CI is set, where this test must run rather than skip)");
        }
        Assumptions.abort(reason);
    }

    private static String rootCause(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause == e ? String.valueOf(e.getMessage()) : e.getMessage() + ": " + cause.getMessage();
    }
}
