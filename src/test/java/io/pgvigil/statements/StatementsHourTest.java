package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgvigil.core.PollState;
import io.pgvigil.core.Window;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * The page's "top statements of the last hour" on a real PostgreSQL (its own server: the test resets
 * pg_stat_statements): sums of the intervals' deltas, the interval of a reset left out (held, and its
 * seconds not counted) rather than counted wrong, a statement that left pg_stat_statements kept with its
 * text until its hour is over, "since" when pgvigil has run less than an hour and never more than an hour
 * back (an interval that began before the hour, after a long outage, is not counted), a slice that keeps
 * its 100 heaviest, and the statements past the open slice's limit counted once per slice.
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

    /** The hour as the endpoint sees it: against the pg_stat_statements of the poll it recorded last. */
    static StatementsHour.View view(StatementsHour hour) {
        return hour.view();
    }

    static Optional<StatementsHour.Item> item(StatementsHour hour, String text) {
        return view(hour).items().stream().filter(i -> i.text() != null
                && i.text().contains(text.equals(COUNTED) ? "AS hour_counted" : "max(hour_gone)")).findFirst();
    }

    static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toNanos() / 1e9;
    }

    static double span(StatementsHour.View v) {
        return seconds(v.since(), v.asOf());
    }

    static final Offset<Double> NS = Offset.offset(1e-6);

    /** Moves the clock to {@code into} past the start of the next slice, so that the next polls share a slice. */
    static void toNextSlice(TestMonitor m, Duration into) {
        long slice = StatementsHour.SLICE.toMillis();
        long now = m.clock.instant().toEpochMilli();
        m.advance(Duration.ofMillis(slice - Math.floorMod(now, slice)).plus(into));
    }

    @Test
    void theHourSumsIntervalsLeavesOutAResetKeepsWhatLeftAndForgetsAfterAnHour() throws Exception {
        StatementsHour hour = new StatementsHour();
        try (TestMonitor m = TestMonitor.watching(pg)) {
            PollState first = m.poll();
            hour.record(first);
            assertThat(view(hour).since()).as("no interval yet").isNull();
            run(COUNTED, 10);
            run(GONE, 4);
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            run(COUNTED, 5);
            hour.record(m.advance(StatementsHour.SLICE).poll());
            // Into the next 5-minute slice: the first one closes (and keeps its 100 heaviest).
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            StatementsHour.Item counted = item(hour, COUNTED).orElseThrow();
            assertThat(counted.calls()).isEqualTo(15);
            assertThat(counted.rows()).isEqualTo(15);
            assertThat(counted.database()).isEqualTo("hour");
            assertThat(counted.inPgStatStatements()).isTrue();
            assertThat(item(hour, GONE).orElseThrow().calls()).isEqualTo(4);
            StatementsHour.View v = view(hour);
            assertThat(v.since()).as("less than an hour: since the first interval began").isEqualTo(first.snapshot().at());
            assertThat(v.asOf()).isEqualTo(m.last().snapshot().at());
            // The polls' own times (the clock's, plus the real time a poll takes to begin): every interval counted.
            assertThat(v.countedSeconds()).isEqualTo(span(v), NS)
                    .isGreaterThanOrEqualTo(30 + StatementsHour.SLICE.toSeconds());

            // A reset: its interval's 3 calls cannot be told apart from what ran before; they are held, not
            // counted, and so are the interval's seconds.
            pg.execute("SELECT pg_stat_statements_reset()");
            run(COUNTED, 3);
            PollState reset = m.advance(Duration.ofSeconds(15)).poll();
            hour.record(reset);
            assertThat(reset.window().statementsHeld()).isPositive();
            assertThat(reset.window().seconds()).isPositive();
            assertThat(item(hour, COUNTED).orElseThrow().calls()).isEqualTo(15);
            v = view(hour);
            assertThat(v.held()).isGreaterThanOrEqualTo(reset.window().statementsHeld());
            assertThat(v.countedSeconds()).as("the reset's interval is not counted")
                    .isEqualTo(span(v) - reset.window().seconds(), NS);
            run(COUNTED, 2);
            PollState after = m.advance(Duration.ofSeconds(15)).poll();
            hour.record(after);
            assertThat(item(hour, COUNTED).orElseThrow().calls()).isEqualTo(17);
            v = view(hour);
            assertThat(v.countedSeconds()).as("the interval after it is").isEqualTo(span(v) - reset.window().seconds(), NS);
            // The reset removed GONE's entry: it stays in the hour, text and all, marked as gone.
            StatementsHour.Item gone = item(hour, GONE).orElseThrow();
            assertThat(gone.calls()).isEqualTo(4);
            assertThat(gone.inPgStatStatements()).isFalse();

            // An hour later the first slices have left the hour; what ran in them is forgotten. The interval
            // of the poll an hour later began before the hour: it is not counted, whatever ran in it.
            run(COUNTED, 1);
            PollState late = m.advance(Duration.ofMinutes(70)).poll();
            hour.record(late);
            assertThat(late.window().statements()).as("the call ran in the interval")
                    .anyMatch(d -> d.statement().text() != null && d.statement().text().contains("AS hour_counted"));
            assertThat(item(hour, GONE)).isEmpty();
            assertThat(item(hour, COUNTED)).as("a 70-minute interval is not the last hour").isEmpty();
            v = view(hour);
            assertThat(v.since()).isNull();
            assertThat(v.countedSeconds()).isZero();
            assertThat(v.held()).as("the reset's slice has left the hour too").isZero();
            run(COUNTED, 2);
            PollState next = m.advance(Duration.ofSeconds(15)).poll();
            hour.record(next);
            assertThat(item(hour, COUNTED).orElseThrow().calls()).as("only the last interval's calls").isEqualTo(2);
            v = view(hour);
            assertThat(v.since()).isEqualTo(late.snapshot().at());
            assertThat(v.countedSeconds()).isEqualTo(next.window().seconds(), NS).isEqualTo(span(v), NS);
        }
    }

    @Test
    void theHourIsNeverLongerThanAnHourAndAnOutageCountsOnlyWhenItBeganInsideIt() throws Exception {
        StatementsHour hour = new StatementsHour();
        try (TestMonitor m = TestMonitor.watching(pg)) {
            List<Instant> polls = new ArrayList<>();
            polls.add(m.poll().snapshot().at());
            hour.record(m.last());
            // 5-minute polls for 70 minutes, one call in each interval.
            for (int i = 0; i < 14; i++) {
                run(COUNTED, 1);
                hour.record(m.advance(StatementsHour.SLICE).poll());
                polls.add(m.last().snapshot().at());
                StatementsHour.View v = view(hour);
                assertThat(span(v)).as("poll %d", i + 1).isLessThanOrEqualTo(3600);
                // Each interval counted whole, one call each: those that began at or after since.
                long intervals = polls.subList(0, polls.size() - 1).stream().filter(at -> !at.isBefore(v.since())).count();
                assertThat(item(hour, COUNTED).orElseThrow().calls()).as("poll %d", i + 1).isEqualTo(intervals);
                assertThat(v.countedSeconds()).isEqualTo(span(v), NS);
            }
            StatementsHour.View v = view(hour);
            // The intervals that began in the latest poll's slice or the 11 before: 55 to 60 minutes, less
            // up to one interval (5 minutes here).
            assertThat(span(v)).isGreaterThan(50 * 60);
            long oldest = (Math.floorDiv(v.asOf().toEpochMilli(), StatementsHour.SLICE.toMillis()) - StatementsHour.SLICES + 1)
                    * StatementsHour.SLICE.toMillis();
            assertThat(v.since().toEpochMilli()).isGreaterThanOrEqualTo(oldest);

            // pgvigil did not poll for 30 minutes while the server ran on: the interval began inside the hour,
            // so it counts, whole.
            long before = item(hour, COUNTED).orElseThrow().calls();
            Instant last = m.last().snapshot().at();
            run(COUNTED, 5);
            PollState gap = m.advance(Duration.ofMinutes(30)).poll();
            hour.record(gap);
            assertThat(gap.window().seconds()).isGreaterThan(1800);
            v = view(hour);
            assertThat(span(v)).isLessThanOrEqualTo(3600);
            assertThat(v.since()).isBeforeOrEqualTo(last);
            assertThat(item(hour, COUNTED).orElseThrow().calls()).as("what ran in the gap, and the intervals still in "
                    + "the hour").isGreaterThanOrEqualTo(5).isLessThanOrEqualTo(before + 5);

            // Three hours without a poll: the interval began long before the hour, it is not counted (it would
            // make "the last hour" three hours long).
            run(COUNTED, 7);
            PollState outage = m.advance(Duration.ofHours(3)).poll();
            hour.record(outage);
            assertThat(outage.window().seconds()).isGreaterThan(3 * 3600);
            v = view(hour);
            assertThat(v.since()).isNull();
            assertThat(item(hour, COUNTED)).isEmpty();
            run(COUNTED, 2);
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            v = view(hour);
            assertThat(v.since()).isEqualTo(outage.snapshot().at());
            assertThat(item(hour, COUNTED).orElseThrow().calls()).isEqualTo(2);
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
            long open = view(hour).items().stream().filter(i -> "slices".equals(i.database())).count();
            // (and the session's own settings, SET extra_float_digits and the like)
            assertThat(open).as("the open slice sums every statement").isGreaterThanOrEqualTo(distinct);
            hour.record(m.advance(StatementsHour.SLICE).poll());
            // The next interval begins in the next slice: the first one closes.
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            StatementsHour.View v = view(hour);
            assertThat(v.items().stream().filter(i -> "slices".equals(i.database())).count())
                    .isLessThanOrEqualTo(StatementsHour.KEEP);
            assertThat(v.otherStatements()).isGreaterThanOrEqualTo(20);
            assertThat(v.otherExecSeconds()).isPositive();
            // The heaviest of them is kept.
            assertThat(v.items()).anyMatch(i -> i.text() != null
                    && i.text().startsWith("SELECT count(*)" + ", count(*)".repeat(distinct - 1) + " FROM"));
        }
    }

    @Test
    void statementsPastTheOpenSlicesLimitAreOthersCountedOncePerSlice() throws Exception {
        int limit = 5;
        StatementsHour hour = new StatementsHour(limit);
        try (TestMonitor m = TestMonitor.watching(pg)) {
            pg.recreateDatabase("overflow");
            // Four polls 15 s apart early in one slice: the three intervals begin in it. (The entries are new
            // in the first; with the clock moved ahead of the server's, their stats_since cannot prove it, so
            // they are held there: the other two count.)
            toNextSlice(m, Duration.ofSeconds(10));
            hour.record(m.poll());
            List<PollState> polls = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                try (Connection c = pg.connect("overflow"); Statement st = c.createStatement()) {
                    for (int i = 0; i < 12; i++) {
                        st.executeQuery("SELECT count(*)" + ", count(*)".repeat(i) + " FROM generate_series(1, 10)").close();
                    }
                }
                polls.add(m.advance(Duration.ofSeconds(15)).poll());
                hour.record(polls.get(p));
            }
            Set<StatStatementsCollector.Key> keys = new HashSet<>();
            long calls = 0;
            assertThat(polls.get(2).window().statements()).hasSizeGreaterThanOrEqualTo(12);
            for (PollState p : polls) {
                assertThat(p.window().seconds()).isPositive();
                for (Window.StatementDelta d : p.window().statements()) {
                    keys.add(d.statement().key());
                    calls += d.calls();
                }
            }
            assertThat(keys.size()).isGreaterThanOrEqualTo(12);
            StatementsHour.View v = view(hour);
            assertThat(v.items()).hasSize(limit);
            // Each statement outside the open slice's limit once, though it ran in several intervals.
            assertThat(v.otherStatements()).isEqualTo(keys.size() - limit);
            assertThat(v.items().stream().mapToLong(StatementsHour.Item::calls).sum() + v.otherCalls()).isEqualTo(calls);
            // Closed: the slice keeps what it summed (fewer than 100 statements: nothing more goes to others).
            hour.record(m.advance(StatementsHour.SLICE).poll());
            hour.record(m.advance(Duration.ofSeconds(15)).poll());
            v = view(hour);
            assertThat(v.otherStatements()).isGreaterThanOrEqualTo(keys.size() - limit);
        }
    }
}
