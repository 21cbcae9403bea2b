package io.pgvigil.page;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Finding;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;

/** The page's history ring: aligned points and series, a finding's series from its opening, fixed size. */
class PageHistoryTest {

    static final Instant T0 = Instant.parse("2026-12-02T12:00:00Z");

    static PollState poll(int n, List<Finding> open) {
        return new PollState(new Snapshot(T0.plusSeconds(15L * n), null, Map.of()), Window.EMPTY, List.of(), Map.of(),
                open, open, Map.of(), 0.01, "down", null, n + 1, n + 1);
    }

    static Finding slow(String queryId, double value) {
        return new Finding("slow_query", Severity.WARNING, queryId, value, 0.1, "mean " + value, T0);
    }

    @Test
    void capacityIsAnHourOfPollsBetweenTwoAndSevenHundredTwenty() {
        assertThat(PageHistory.capacityFor(Duration.ofSeconds(15))).isEqualTo(240);
        assertThat(PageHistory.capacityFor(Duration.ofSeconds(5))).isEqualTo(720);
        assertThat(PageHistory.capacityFor(Duration.ofSeconds(1))).isEqualTo(720);
        assertThat(PageHistory.capacityFor(Duration.ofHours(2))).isEqualTo(2);
        assertThatThrownBy(() -> new PageHistory(1)).hasMessageContaining("capacity must be at least 2, not 1");
    }

    @Test
    void aFindingsSeriesBeginsWhenItOpensAndIsNullWhileItIsClosed() {
        PageHistory h = new PageHistory(4);
        h.record(poll(0, List.of()));
        h.record(poll(1, List.of(slow("42", 0.2))));
        h.record(poll(2, List.of(slow("42", 0.3))));
        h.record(poll(3, List.of()));
        PageHistory.View v = h.view();
        assertThat(v.points()).extracting(PageHistory.Point::at).containsExactly(T0, T0.plusSeconds(15),
                T0.plusSeconds(30), T0.plusSeconds(45));
        assertThat(v.series()).hasSize(1);
        assertThat(v.series().get(0).check()).isEqualTo("slow_query");
        assertThat(v.series().get(0).subject()).isEqualTo("42");
        assertThat(v.series().get(0).values()).containsExactly(null, 0.2, 0.3, null);
    }

    @Test
    void theRingKeepsTheLastCapacityPollsAndDropsASeriesThatLeftThem() {
        PageHistory h = new PageHistory(3);
        h.record(poll(0, List.of(slow("1", 1))));
        for (int n = 1; n <= 4; n++) {
            h.record(poll(n, List.of(slow("2", n))));
        }
        PageHistory.View v = h.view();
        assertThat(v.points()).extracting(PageHistory.Point::at).containsExactly(T0.plusSeconds(30),
                T0.plusSeconds(45), T0.plusSeconds(60));
        assertThat(v.series()).extracting(PageHistory.Series::subject).containsExactly("2");
        assertThat(v.series().get(0).values()).containsExactly(2.0, 3.0, 4.0);
        assertThat(v.points()).extracting(PageHistory.Point::findingsOpen).as("not judged while down")
                .containsOnlyNulls();
    }

    @Test
    void moreOpenFindingsThanSeriesKeepTheFirstAndNewOnesTakeTheSeriesOfClearedOnes() {
        PageHistory h = new PageHistory(10);
        List<Finding> many = new ArrayList<>();
        for (int i = 0; i < PageHistory.MAX_SERIES + 50; i++) {
            many.add(slow(Integer.toString(i), i));
        }
        h.record(poll(0, many));
        assertThat(h.view().series()).hasSize(PageHistory.MAX_SERIES);
        assertThat(h.view().series()).extracting(PageHistory.Series::subject).doesNotContain("100", "149");
        // The first 100 clear; in the next poll, the others open and take their places.
        h.record(poll(1, many.subList(PageHistory.MAX_SERIES, many.size())));
        h.record(poll(2, many.subList(PageHistory.MAX_SERIES, many.size())));
        List<String> subjects = h.view().series().stream().map(PageHistory.Series::subject).toList();
        assertThat(subjects).hasSize(PageHistory.MAX_SERIES).contains("100", "149");
        PageHistory.Series s149 = h.view().series().stream().filter(s -> s.subject().equals("149")).findFirst()
                .orElseThrow();
        assertThat(s149.values().subList(0, 3)).as("no values before it had a series").containsExactly(null, null, 149.0);
    }
}
