package io.pgvigil.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a test needs from the machine (a Debian package's program): without it the test is skipped,
 * saying so on stderr, or fails when {@code CI} is set, because .ci/run installs everything a test uses.
 */
public final class Installed {

    private Installed() {
    }

    /** Returns when {@code present}; else skips the test (outside CI) or fails it (CI set) with {@code message}. */
    public static void require(boolean present, String message) {
        if (!present && System.getenv("CI") != null) {
            throw new AssertionError(message + " (CI is set, so this is a failure, not a skip)");
        }
        if (!present) {
            System.err.println("SKIPPED: " + message);
        }
        assumeTrue(present, message);
    }
}
