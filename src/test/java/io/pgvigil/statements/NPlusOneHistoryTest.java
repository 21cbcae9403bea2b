package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** {@link NPlusOneHistory}'s ageing: a statement leaves with its last interval, whatever the rounding of times. */
class NPlusOneHistoryTest {

    /**
     * Poll times in epoch seconds with jitter of a few milliseconds: for some of them the interval's
     * midpoint computed as (start + end) / 2 and as end - seconds / 2 differ by a rounding step, and a
     * statement whose sample outlived its interval was never aged again. Searched among seeded poll
     * times for such a case (about one interval in eight), a statement that ran once and never again
     * must be gone a window later.
     */
    @Test
    void aStatementThatNeverRunsAgainLeavesAWindowLaterWhateverTheRounding() {
        java.util.Random r = new java.util.Random(3);
        double window = 120;
        int found = 0;
        for (int i = 0; i < 200_000 && found < 20; i++) {
            long endMs = 1_764_000_000_000L + (long) (r.nextDouble() * 1e10);
            long secMs = 15000 + 2 * (r.nextInt(21) - 10);
            double end = endMs / 1000.0;
            double seconds = secMs / 1000.0;
            double from = (endMs - secMs / 2 + 120000) / 1000.0 - window;
            double startBased = ((end - seconds) + end) / 2;
            if (!(startBased <= from && end - seconds / 2 > from)) {
                continue; // the rounding agrees: not the case looked for
            }
            found++;
            NPlusOneHistory h = new NPlusOneHistory(window);
            h.add(end, seconds, List.of(new NPlusOneHistory.Delta(1, "db", 42, "SELECT 1", 1000, 1000, 0.1)));
            double previous = end;
            for (long t = endMs + 15000; t < endMs + 15000 * 30; t += 15000) {
                h.add(t / 1000.0, t / 1000.0 - previous, List.of());
                previous = t / 1000.0;
            }
            assertThat(h.size()).as("statements held 7 minutes after the only run (poll at %d ms, %d ms long)", endMs, secMs)
                    .isZero();
        }
        assertThat(found).as("poll times whose midpoints round apart").isEqualTo(20);
    }
}
