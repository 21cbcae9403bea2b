package io.pgvigil.vacuum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.DebianPostgres;
import io.pgvigil.testing.TestMonitor;

/**
 * {@code xid_wraparound} on a real server brought near wraparound rather than with lowered
 * thresholds: Debian's PostgreSQL 15 (zonky's binaries have no {@code pg_resetwal}). A table is made
 * while IDs are young, the cluster is stopped, {@code pg_resetwal} moves the next transaction ID (or
 * MultiXact ID) 1.2 (1.7) billion ahead, and a zero-filled SLRU segment is written for the page the
 * server will use next (the segment is named after ID / IDs per segment in four hex digits). The table
 * and the catalogs are then that old. Autovacuum is off and the freeze-max-age settings are at their
 * maximum (2 billion), so that no anti-wraparound autovacuum freezes anything before the test asserts:
 * even with autovacuum off, PostgreSQL starts one past {@code autovacuum_freeze_max_age}. The other
 * majors (zonky) get the same computation at today's ages in {@code VacuumMatrixTest}.
 */
class WraparoundTest {

    /** Transaction IDs per pg_xact segment: 32 pages × 8192 bytes × 4 transactions per byte. */
    static final long XIDS_PER_SEGMENT = 32L * 8192 * 4;
    /** MultiXact IDs per pg_multixact/offsets segment: 32 pages × 8192 bytes / 4 bytes per offset. */
    static final long MXIDS_PER_SEGMENT = 32L * 8192 / 4;

    private static final Map<String, String> NO_AUTOVACUUM = Map.of("autovacuum", "off",
            "autovacuum_freeze_max_age", "2000000000", "autovacuum_multixact_freeze_max_age", "2000000000");

    @Test
    void transactionIdsNearWraparoundOpenAWarningNamingTheOldestTableAndVacuumFreezeClearsIt() throws Exception {
        try (DebianPostgres pg = DebianPostgres.initdb()) {
            oldTable(pg);
            long next = 1_200_000_000L;
            pg.resetwal("-x", Long.toString(next));
            pg.zeroSegment(String.format(Locale.ROOT, "pg_xact/%04X", next / XIDS_PER_SEGMENT));
            assertThat(String.format(Locale.ROOT, "%04X", next / XIDS_PER_SEGMENT)).isEqualTo("0478");
            pg.start(NO_AUTOVACUUM);
            // A table made now is young: the message must not send anyone to it.
            pg.execute("wrap", "CREATE TABLE new_orders (id int PRIMARY KEY)");
            long age = serverAge(pg, "age(datfrozenxid)");
            assertThat(age).isBetween(next - 1000, next);

            try (TestMonitor m = new TestMonitor(pg.config("pgvigil.databases.include", "wrap"))) {
                m.poll();
                Finding f = m.finding("xid_wraparound", "wrap").orElseThrow();
                assertThat(f.severity()).isEqualTo(Severity.WARNING);
                assertThat(f.value()).isEqualTo(age / 2147483648.0).isCloseTo(0.559, within(0.001));
                assertThat(f.threshold()).isEqualTo(0.5);
                assertThat(f.message()).startsWith(String.format(Locale.ROOT,
                        "database wrap: transaction ID age %,d (55.9%% of 2^31; below autovacuum_freeze_max_age"
                                + " 2,000,000,000); MultiXact ID age ", age))
                        .contains("public.old_orders 1,1", "Run VACUUM (VERBOSE) ",
                                "vacuumdb --dbname=wrap --min-xid-age=" + age / 2, "see xmin_horizon")
                        .doesNotContain("new_orders");
                // template0, template1 and postgres are as old; only wrap was visited.
                assertThat(m.finding("xid_wraparound", "template0").orElseThrow().message())
                        .contains("It does not allow connections (datallowconn is false)",
                                "ALTER DATABASE template0 ALLOW_CONNECTIONS true");
                assertThat(m.finding("xid_wraparound", "postgres").orElseThrow().message())
                        .contains("Its oldest tables are not known: not visited yet");
                assertThat(m.scrape()).contains(
                        "pg_database_datfrozenxid_age{datname=\"wrap\"} " + (double) age + "\n",
                        "pg_settings_autovacuum_freeze_max_age 2.0E9\n",
                        "pgvigil_check_value{check=\"xid_wraparound\",subject=\"wrap\"} " + f.value() + "\n",
                        "pgvigil_breach{check=\"xid_wraparound\",severity=\"warning\",subject=\"wrap\"} 1.0\n");

                // What the message says to do works: a plain database-wide VACUUM (aggressive at this age) clears it.
                pg.execute("wrap", "VACUUM");
                assertThat(serverAge(pg, "age(datfrozenxid)")).isLessThan(1000);
                m.poll();
                assertThat(m.finding("xid_wraparound", "wrap")).isEmpty();
                assertThat(m.finding("xid_wraparound", "postgres")).isPresent();
            }
        }
    }

    @Test
    void multixactIdsNearWraparoundOpenACriticalFindingOnTheMultixactAge() throws Exception {
        try (DebianPostgres pg = DebianPostgres.initdb()) {
            oldTable(pg);
            long next = 1_700_000_000L;
            pg.resetwal("-m", next + ",1");
            pg.zeroSegment(String.format(Locale.ROOT, "pg_multixact/offsets/%04X", next / MXIDS_PER_SEGMENT));
            pg.start(NO_AUTOVACUUM);
            long mxidAge = serverAge(pg, "mxid_age(datminmxid)");
            long xidAge = serverAge(pg, "age(datfrozenxid)");
            assertThat(mxidAge).isEqualTo(next - 1);

            try (TestMonitor m = new TestMonitor(pg.config("pgvigil.databases.include", "wrap"))) {
                m.poll();
                Finding f = m.finding("xid_wraparound", "wrap").orElseThrow();
                assertThat(f.severity()).isEqualTo(Severity.CRITICAL);
                assertThat(f.value()).isEqualTo(mxidAge / 2147483648.0).isCloseTo(0.792, within(0.001));
                assertThat(f.threshold()).isEqualTo(0.75);
                assertThat(f.message()).startsWith(String.format(Locale.ROOT,
                        "database wrap: MultiXact ID age 1,699,999,999 (79.2%% of 2^31; below"
                                + " autovacuum_multixact_freeze_max_age 2,000,000,000); transaction ID age %,d", xidAge))
                        .contains("Oldest by MultiXact ID age at the visit of ", "public.old_orders 1,699,999,999");
                assertThat(m.scrape()).contains(
                        "pg_database_datminmxid_age{datname=\"wrap\"} 1.699999999E9\n",
                        "pgvigil_breach{check=\"xid_wraparound\",severity=\"critical\",subject=\"wrap\"} 1.0\n");

                pg.execute("wrap", "VACUUM");
                m.poll();
                assertThat(m.finding("xid_wraparound", "wrap")).isEmpty();
            }
        }
    }

    /** Starts the fresh cluster, makes the monitoring role and a table in database wrap, and stops it. */
    private static void oldTable(DebianPostgres pg) {
        pg.start(Map.of());
        pg.createMonitorRole();
        pg.execute("postgres", "CREATE DATABASE wrap");
        pg.execute("wrap", "CREATE TABLE old_orders (id int PRIMARY KEY, note text)",
                "INSERT INTO old_orders SELECT g, repeat('x', 3000) FROM generate_series(1, 50) g");
        pg.stop();
    }

    private static long serverAge(DebianPostgres pg, String expression) throws SQLException {
        try (Connection c = pg.connect("wrap"); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT " + expression + " FROM pg_database WHERE datname = 'wrap'")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
