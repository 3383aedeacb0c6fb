package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The passthrough commits as the job checkpoints: once per interval, never to make up for the commits it missed. */
class PassthroughTest {

    private static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final long SECOND = 1_000_000_000L;

    @Test
    void commitsOncePerInterval() {
        Passthrough.CommitSchedule commits = new Passthrough.CommitSchedule(0, INTERVAL);
        assertFalse(commits.due(2 * SECOND - 1));
        assertTrue(commits.due(2 * SECOND));
        commits.committing(2 * SECOND);
        assertFalse(commits.due(4 * SECOND - 1));
        assertTrue(commits.due(4 * SECOND));
    }

    /**
     * A worker that comes to commit three intervals late (a long poll, a busy machine) commits once, and the next
     * commit is an interval after that one: scheduled at fixed times, it was due again at once, and again, until it
     * had made up every commit it missed.
     */
    @Test
    void aLateCommitIsNotFollowedByTheOnesItMissed() {
        Passthrough.CommitSchedule commits = new Passthrough.CommitSchedule(0, INTERVAL);
        long late = 8 * SECOND;
        assertTrue(commits.due(late));
        commits.committing(late);
        assertFalse(commits.due(late + 1), "the commits missed meanwhile are not made up");
        assertFalse(commits.due(late + 2 * SECOND - 1));
        assertTrue(commits.due(late + 2 * SECOND));
    }
}
