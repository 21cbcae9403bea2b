package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestConfig;
import io.pgvigil.testing.TestMonitor;

/**
 * What pgvigil itself puts into pg_stat_statements (issue 20). Every statement it sends must have a
 * text that does not change from poll to poll: a counter in a savepoint name (pgjdbc's
 * {@code JDBC_SAVEPOINT_<n>}) is a new entry per poll on PostgreSQL 13-16, which fills
 * pg_stat_statements and evicts the statements of the application that pgvigil watches.
 *
 * <p>A server of its own with the smallest {@code pg_stat_statements.max} (100) and nothing else
 * running: 500 polls, a database visit every fourth, and a collector that fails in every poll (so
 * the rollback to its savepoint is exercised 500 times too).
 */
class OwnStatementsMatrixTest {

    static final int POLLS = 500;

    /** Fails in every poll with an error the server raises, after the transaction has done work. */
    static final class Failing implements Collector<String> {
        @Override
        public String key() {
            return "failing_on_purpose";
        }

        @Override
        public Class<String> resultType() {
            return String.class;
        }

        @Override
        public String collect(Connection connection, ServerInfo server) throws SQLException {
            try (PreparedStatement st = connection.prepareStatement("SELECT 1 / 0")) {
                st.executeQuery();
            }
            return "unreachable";
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void pgvigilsOwnEntriesStayConstantOverFiveHundredPollsAndEvictNothing(int major) throws Exception {
        try (PgServer pg = PgServer.start(major, Map.of("pg_stat_statements.max", "100"));
                TestMonitor m = new TestMonitor(TestConfig.forServer(pg), new Failing());
                Connection admin = pg.connect("postgres")) {
            List<Long> own = new ArrayList<>();
            long deallocAfterTen = -1;
            for (int poll = 1; poll <= POLLS; poll++) {
                PollState state = m.advance(Duration.ofSeconds(15)).poll();
                assertThat(state.up()).as("poll %d is up", poll).isTrue();
                assertThat(status(state, "failing_on_purpose").success()).as("the failing collector failed").isFalse();
                assertThat(status(state, "pg_stat_statements").success())
                        .as("the collector after a failed one carries on in poll %d", poll).isTrue();
                if (poll == 10 || poll % 100 == 0) {
                    own.add(ownEntries(pg, admin));
                    Statements statements = state.snapshot().get(Statements.class).orElseThrow();
                    assertThat((long) statements.ownEntries()).as("what pgvigil reports of itself at poll %d", poll)
                            .isEqualTo(own.get(own.size() - 1));
                    if (poll == 10 && major >= 14) {
                        deallocAfterTen = dealloc(pg, admin);
                    }
                }
            }
            assertThat(own).as("entries of pgvigil's role after 10, 100, ..., 500 polls").containsOnly(own.get(0));
            assertThat(own.get(0)).as("pgvigil sends a handful of statements, not a hundred").isLessThan(40);
            // PostgreSQL 13 has no pg_stat_statements_info: there, room left is the proof that nothing was evicted.
            assertThat(pg.queryLong(admin, "SELECT count(*) FROM pg_stat_statements"))
                    .as("entries after 500 polls, with pg_stat_statements.max = 100").isLessThan(100);
            if (major >= 14) {
                assertThat(dealloc(pg, admin)).as("pg_stat_statements_info.dealloc after 500 polls")
                        .isEqualTo(deallocAfterTen).isZero();
            }
            assertThat(m.scrape()).contains("pgvigil_own_statements " + own.get(0) + ".0");
        }
    }

    private static CollectorStatus status(PollState state, String key) {
        return state.collectors().stream().filter(c -> c.collector().equals(key)).findFirst().orElseThrow();
    }

    private static long ownEntries(PgServer pg, Connection admin) throws SQLException {
        return pg.queryLong(admin, "SELECT count(*) FROM pg_stat_statements WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = ?)",
                PgServer.MONITOR_ROLE);
    }

    private static long dealloc(PgServer pg, Connection admin) throws SQLException {
        try (PreparedStatement st = admin.prepareStatement("SELECT dealloc FROM pg_stat_statements_info");
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
