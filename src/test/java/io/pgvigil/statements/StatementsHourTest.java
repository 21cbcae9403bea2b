package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgvigil.core.PollState;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * The page's "top statements of the last hour" on a real PostgreSQL (its own server: the test resets
 * pg_stat_statements): sums of the intervals' deltas, the interval of a reset left out (held) rather
 * than counted wrong, a statement that left pg_stat_statements kept with its text until its hour is
 * over, "since" when pgvigil has run less than an hour, and a slice that keeps its 100 heaviest.
 */
class StatementsHourTest {

    // Different shapes (an alias alone does not make another queryid); found by a word of their texts.
    static final String COUNTED = "SELECT count(*) FROM generate_series(1, ?) AS hour_counted";
    static final String GONE = "SELECT max(hour_gone) FROM generate_series(1, ?) AS hour_gone";

    static PgServer pg;

    @BeforeAll
    static void start() {
        pg = PgServer.start(PgServer.defaultMajor());
        pg.recreateDatabase("hour");
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    static void run(String sql, int times) throws SQLException {
        try (Connection c = pg.connect("hour")) {
            for (int i = 0; i < times; i++) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setInt(1, 1000);
                    ps.executeQuery().close();
                }
            }
        }
    }

    /** The hour as the endpoint sees it, against the latest poll's pg_stat_statements. */
    static StatementsHour.View view(StatementsHour hour, TestMonitor m) {
        return hour.view(m.last().snapshot().get(StatStatementsCollector.Statements.class).orElseThrow());
    }

    static Optional<StatementsHour.Item> item(StatementsHour hour, TestMonitor m, String text) {
        return view(hour, m).items().stream().filter(i -> i.text() != null
                && i.text().contains(text.equals(COUNTED) ? "AS hour_counted" : "max(hour_gone)")).findFirst();
    }

    @Test
    void theHourSumsIntervalsLeavesOutAResetKeepsWhatLeftAndForgetsAfterAnHour() throws Exception {
        StatementsHour hour = new StatementsHour();
        try (TestMonitor m = TestMonitor.watching(pg)) {
            PollState first = m.poll();
            hour.record(first);
            assertThat(view(hour, m).since()).as("no interval yet").isNull();
            run(COUNTED, 10);
            run(GONE, 4);
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            run(COUNTED, 5);
            // Into the next 5-minute slice: the first one closes (and keeps its 100 heaviest).
            hour.record(m.advance(StatementsHour.SLICE).poll());
            StatementsHour.Item counted = item(hour, m, COUNTED).orElseThrow();
            assertThat(counted.calls()).isEqualTo(15);
            assertThat(counted.rows()).isEqualTo(15);
            assertThat(counted.database()).isEqualTo("hour");
            assertThat(counted.inPgStatStatements()).isTrue();
            assertThat(item(hour, m, GONE).orElseThrow().calls()).isEqualTo(4);
            StatementsHour.View v = view(hour, m);
            assertThat(v.since()).as("less than an hour: since the first interval began").isEqualTo(first.snapshot().at());
            assertThat(v.asOf()).isEqualTo(m.last().snapshot().at());
            // The polls' own times (the clock's, plus the real time a poll takes to begin).
            assertThat(v.countedSeconds()).isEqualTo(
                    java.time.Duration.between(first.snapshot().at(), m.last().snapshot().at()).toNanos() / 1e9,
                    org.assertj.core.data.Offset.offset(1e-6)).isGreaterThanOrEqualTo(15 + StatementsHour.SLICE.toSeconds());

            // A reset: its interval's 3 calls cannot be told apart from what ran before; they are held, not counted.
            pg.execute("SELECT pg_stat_statements_reset()");
            run(COUNTED, 3);
            PollState reset = m.advance(Duration.ofSeconds(15)).poll();
            hour.record(reset);
            assertThat(reset.window().statementsHeld()).isPositive();
            assertThat(item(hour, m, COUNTED).orElseThrow().calls()).isEqualTo(15);
            assertThat(view(hour, m).held()).isGreaterThanOrEqualTo(reset.window().statementsHeld());
            run(COUNTED, 2);
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            assertThat(item(hour, m, COUNTED).orElseThrow().calls()).isEqualTo(17);
            // The reset removed GONE's entry: it stays in the hour, text and all, marked as gone.
            StatementsHour.Item gone = item(hour, m, GONE).orElseThrow();
            assertThat(gone.calls()).isEqualTo(4);
            assertThat(gone.inPgStatStatements()).isFalse();

            // An hour later the first slices have left the hour; what ran in them is forgotten.
            run(COUNTED, 1);
            Instant before = m.last().snapshot().at();
            hour.record(m.advance(Duration.ofMinutes(70)).poll());
            assertThat(item(hour, m, GONE)).isEmpty();
            assertThat(item(hour, m, COUNTED).orElseThrow().calls()).as("only the last interval's call").isEqualTo(1);
            assertThat(view(hour, m).since()).isEqualTo(before);
            assertThat(view(hour, m).held()).as("the reset's slice has left the hour too").isZero();
        }
    }

    @Test
    void aClosedSliceKeepsItsHundredHeaviestAndSumsTheRestAsOthers() throws Exception {
        StatementsHour hour = new StatementsHour();
        int distinct = StatementsHour.KEEP + 20;
        try (TestMonitor m = TestMonitor.watching(pg)) {
            hour.record(m.poll());
            pg.recreateDatabase("slices");
            try (Connection c = pg.connect("slices"); Statement st = c.createStatement()) {
                // Distinct statements (one queryid each: i + 1 aggregates), the heavier the higher i.
                for (int i = 0; i < distinct; i++) {
                    st.executeQuery("SELECT count(*)" + ", count(*)".repeat(i) + " FROM generate_series(1, "
                            + (1000 + 1000 * i) + ")").close();
                }
            }
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            long open = view(hour, m).items().stream().filter(i -> "slices".equals(i.database())).count();
            // (and the session's own settings, SET extra_float_digits and the like)
            assertThat(open).as("the open slice sums every statement").isGreaterThanOrEqualTo(distinct);
            hour.record(m.advance(StatementsHour.SLICE).poll());
            StatementsHour.View v = view(hour, m);
            assertThat(v.items().stream().filter(i -> "slices".equals(i.database())).count())
                    .isLessThanOrEqualTo(StatementsHour.KEEP);
            assertThat(v.otherStatements()).isGreaterThanOrEqualTo(20);
            assertThat(v.otherExecSeconds()).isPositive();
            // The heaviest of them is kept.
            assertThat(v.items()).anyMatch(i -> i.text() != null
                    && i.text().startsWith("SELECT count(*)" + ", count(*)".repeat(distinct - 1) + " FROM"));
        }
    }
}
