package io.pgvigil.horizon;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.horizon.XminHorizonCollector.Holder;
import io.pgvigil.horizon.XminHorizonCollector.Horizon;
import io.pgvigil.horizon.XminHorizonCollector.Kind;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * What holds the xmin horizon back, on every supported major: a forgotten prepared transaction, an
 * abandoned logical slot, a session idle in a REPEATABLE READ transaction, a session that wrote and
 * went idle, a standby's hot_standby_feedback. Each opens {@code xmin_horizon} naming its holder, and
 * releasing it clears the finding.
 *
 * <p>Nothing is faked: transaction IDs are really consumed (a DO block committing 1,100 times takes a
 * few milliseconds) against a warning lowered to 1,000, and the class's server runs with
 * {@code autovacuum_freeze_max_age} at its minimum, 100,000, so that critical is the server's own
 * setting, reached by consuming 100,000 more.
 */
class XminHorizonMatrixTest {

    /** One server per major for the class: prepared transactions and logical slots need server settings. */
    private static final Map<Integer, PgServer> SERVERS = new ConcurrentHashMap<>();

    static final long FREEZE_MAX_AGE = 100_000;
    private static final String[] LOW_WARNING = {"pgvigil.checks.xmin-horizon.warning", "1000"};

    static PgServer server(int major) {
        return SERVERS.computeIfAbsent(major, m -> PgServer.start(m, Map.of("max_prepared_transactions", "5",
                "wal_level", "logical", "autovacuum_freeze_max_age", Long.toString(FREEZE_MAX_AGE))));
    }

    @AfterAll
    static void stopServers() {
        SERVERS.values().forEach(PgServer::close);
        SERVERS.clear();
    }

    /** Assigns and commits {@code n} transaction IDs, one transaction each. */
    static void consumeTransactionIds(PgServer pg, int n) {
        pg.execute("SET synchronous_commit = off",
                "DO $$BEGIN FOR i IN 1.." + n + " LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END$$");
    }

    static Horizon horizon(TestMonitor m) {
        return m.last().snapshot().get(Horizon.class).orElseThrow();
    }

    static Holder holder(TestMonitor m, Kind kind) {
        return horizon(m).of(kind).orElseThrow(() -> new AssertionError("no " + kind + " holder in " + horizon(m)));
    }

    static long queryLong(PgServer pg, String sql) {
        try (Connection c = pg.connect("postgres")) {
            return pg.queryLong(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void nothingHoldsTheHorizonOnAQuietServer(int major) {
        PgServer pg = server(major);
        try (TestMonitor m = TestMonitor.watching(pg, LOW_WARNING)) {
            m.poll();
            Horizon h = horizon(m);
            assertThat(h.freezeMaxAge()).isEqualTo(FREEZE_MAX_AGE);
            assertThat(h.holders()).as("pgvigil's own poll transaction is never a holder").isEmpty();
            assertThat(m.evaluation("xmin_horizon", "server").orElseThrow().value()).isZero();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
            assertThat(m.scrape()).contains(
                    "pgvigil_xmin_horizon_age_transactions{holder=\"backend\"} 0.0\n",
                    "pgvigil_xmin_horizon_age_transactions{holder=\"prepared_transaction\"} 0.0\n",
                    "pgvigil_xmin_horizon_age_transactions{holder=\"replication_slot\"} 0.0\n",
                    "pgvigil_xmin_horizon_age_transactions{holder=\"standby\"} 0.0\n",
                    "pgvigil_xmin_horizon_holders{holder=\"prepared_transaction\"} 0.0\n",
                    "pgvigil_check_value{check=\"xmin_horizon\",subject=\"server\"} 0.0\n",
                    "pgvigil_check_threshold{check=\"xmin_horizon\",severity=\"warning\"} 1000.0\n",
                    "pgvigil_check_threshold{check=\"xmin_horizon\",severity=\"critical\"} 100000.0\n");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void forgottenPreparedTransactionOpensXminHorizonGoesCriticalPastFreezeMaxAgeAndRollbackPreparedClears(int major) {
        PgServer pg = server(major);
        pg.execute("CREATE TABLE IF NOT EXISTS orders (id int, note text)");
        try (TestMonitor m = TestMonitor.watching(pg, LOW_WARNING)) {
            pg.execute("BEGIN", "INSERT INTO orders VALUES (42, 'two-phase')", "PREPARE TRANSACTION 'order-42'");
            consumeTransactionIds(pg, 1100);
            long before = queryLong(pg, "SELECT age(transaction) FROM pg_prepared_xacts WHERE gid = 'order-42'");
            m.poll();
            long after = queryLong(pg, "SELECT age(transaction) FROM pg_prepared_xacts WHERE gid = 'order-42'");

            Holder prepared = holder(m, Kind.PREPARED_TRANSACTION);
            assertThat(prepared.age()).isBetween(before, after).isGreaterThanOrEqualTo(1100);
            assertThat(prepared.name()).isEqualTo("order-42");
            assertThat(prepared.owner()).isEqualTo("postgres");
            assertThat(prepared.database()).isEqualTo("postgres");
            assertThat(prepared.field()).isEqualTo("transaction");
            assertThat(prepared.holders()).isEqualTo(1);
            assertThat(prepared.pid()).isNull();
            assertThat(prepared.since()).isNotNull();
            assertThat(prepared.sinceSeconds()).isBetween(0.0, 60.0);
            assertThat(horizon(m).oldest()).contains(prepared);

            Finding warning = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(warning.severity()).isEqualTo(Severity.WARNING);
            assertThat(warning.value()).isEqualTo(prepared.age());
            assertThat(warning.threshold()).isEqualTo(1000);
            assertThat(warning.message()).startsWith(String.format(java.util.Locale.ROOT,
                    "the xmin horizon is %,d transactions behind; held by prepared transaction 'order-42' (owner"
                            + " postgres, database postgres, prepared at ", prepared.age()))
                    .contains("connected to database postgres as postgres or a superuser, run COMMIT PREPARED"
                            + " 'order-42' or ROLLBACK PREPARED 'order-42'");
            assertThat(m.scrape()).contains(
                    "pgvigil_xmin_horizon_age_transactions{holder=\"prepared_transaction\"} " + (double) prepared.age() + "\n",
                    "pgvigil_xmin_horizon_holders{holder=\"prepared_transaction\"} 1.0\n",
                    "pgvigil_breach{check=\"xmin_horizon\",severity=\"warning\",subject=\"server\"} 1.0\n");

            // Past the server's autovacuum_freeze_max_age: critical, without a configured critical.
            consumeTransactionIds(pg, (int) FREEZE_MAX_AGE);
            m.poll();
            Finding critical = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(critical.severity()).isEqualTo(Severity.CRITICAL);
            assertThat(critical.threshold()).isEqualTo(FREEZE_MAX_AGE);
            assertThat(critical.since()).as("the same finding, now critical").isEqualTo(warning.since());
            assertThat(critical.value()).isGreaterThan(FREEZE_MAX_AGE);
            assertThat(critical.message()).contains("transactions behind, past autovacuum_freeze_max_age (100,000):"
                    + " anti-wraparound autovacuums cannot freeze beyond it");

            pg.execute("ROLLBACK PREPARED 'order-42'");
            m.poll();
            assertThat(horizon(m).of(Kind.PREPARED_TRANSACTION)).isEmpty();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
            assertThat(m.scrape()).contains("pgvigil_xmin_horizon_age_transactions{holder=\"prepared_transaction\"} 0.0\n")
                    .doesNotContain("pgvigil_breach{check=\"xmin_horizon\"");
        } finally {
            rollbackPrepared(pg, "order-42");
        }
    }

    static void rollbackPrepared(PgServer pg, String gid) {
        if (queryLong(pg, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + gid + "'") > 0) {
            pg.execute("ROLLBACK PREPARED '" + gid + "'");
        }
    }

    static void dropSlot(PgServer pg, String slot) {
        pg.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
    }

    static int pid(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); var rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void abandonedLogicalSlotOpensXminHorizonWithItsCatalogXminAndDroppingItClears(int major) {
        PgServer pg = server(major);
        try (TestMonitor m = TestMonitor.watching(pg, LOW_WARNING)) {
            pg.execute("SELECT pg_create_logical_replication_slot('abandoned_cdc', 'test_decoding')");
            consumeTransactionIds(pg, 1100);
            long before = queryLong(pg, "SELECT age(catalog_xmin) FROM pg_replication_slots WHERE slot_name = 'abandoned_cdc'");
            m.poll();
            long after = queryLong(pg, "SELECT age(catalog_xmin) FROM pg_replication_slots WHERE slot_name = 'abandoned_cdc'");

            Holder slot = holder(m, Kind.REPLICATION_SLOT);
            assertThat(slot.age()).isBetween(before, after).isGreaterThanOrEqualTo(1100);
            assertThat(slot.name()).isEqualTo("abandoned_cdc");
            assertThat(slot.slotType()).isEqualTo("logical");
            assertThat(slot.database()).isEqualTo("postgres");
            assertThat(slot.field()).isEqualTo("catalog_xmin");
            assertThat(slot.active()).isFalse();
            assertThat(slot.pid()).isNull();
            if (major >= 17) {
                assertThat(slot.since()).as("inactive_since, 17+").isNotNull();
            } else {
                assertThat(slot.since()).as("PostgreSQL %d does not say since when a slot is unused", major).isNull();
            }

            Finding f = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.value()).isEqualTo(slot.age());
            assertThat(f.message()).startsWith(String.format(java.util.Locale.ROOT,
                    "the xmin horizon is %,d transactions behind; held by logical replication slot 'abandoned_cdc' of"
                            + " database postgres (inactive", slot.age()))
                    .contains("with its catalog_xmin. Vacuum cannot remove dead rows of the system catalogs",
                            "If nothing will read from it again, drop it: SELECT pg_drop_replication_slot('abandoned_cdc')");
            assertThat(m.scrape()).contains(
                    "pgvigil_xmin_horizon_age_transactions{holder=\"replication_slot\"} " + (double) slot.age() + "\n",
                    "pgvigil_xmin_horizon_holders{holder=\"replication_slot\"} 1.0\n");

            pg.execute("SELECT pg_drop_replication_slot('abandoned_cdc')");
            m.poll();
            assertThat(horizon(m).holders()).isEmpty();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
        } finally {
            dropSlot(pg, "abandoned_cdc");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void sessionIdleInARepeatableReadTransactionHoldsItsSnapshotUntilItCommits(int major) throws Exception {
        PgServer pg = server(major);
        try (TestMonitor m = TestMonitor.watching(pg, LOW_WARNING);
                Connection report = pg.connect("postgres", "nightly-report")) {
            int pid = pid(report);
            report.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            report.setAutoCommit(false);
            try (Statement st = report.createStatement()) {
                st.execute("SELECT count(*) FROM pg_class WHERE relname <> 'card 4111-1111'");
            }
            consumeTransactionIds(pg, 1100);
            m.poll();

            Holder backend = holder(m, Kind.BACKEND);
            assertThat(backend.pid()).isEqualTo(pid);
            assertThat(backend.backendType()).isEqualTo("client backend");
            assertThat(backend.name()).isEqualTo("nightly-report");
            assertThat(backend.owner()).isEqualTo("postgres");
            assertThat(backend.client()).isEqualTo("127.0.0.1");
            assertThat(backend.state()).isEqualTo("idle in transaction");
            assertThat(backend.database()).isEqualTo("postgres");
            assertThat(backend.field()).as("a snapshot, no transaction ID of its own").isEqualTo("backend_xmin");
            assertThat(backend.query()).isEqualTo("SELECT count(*) FROM pg_class WHERE relname <> '…'");
            assertThat(backend.since()).isNotNull();
            assertThat(backend.age()).isGreaterThanOrEqualTo(1100);

            Finding f = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(f.value()).isEqualTo(backend.age());
            assertThat(f.message()).startsWith(String.format(java.util.Locale.ROOT,
                    "the xmin horizon is %,d transactions behind; held by client backend pid %d (user postgres,"
                            + " application 'nightly-report', client 127.0.0.1, database postgres, idle in transaction;"
                            + " transaction open since ", backend.age(), pid))
                    .contains("with its snapshot; query: SELECT count(*) FROM pg_class WHERE relname <> '…'",
                            "the application must COMMIT or ROLLBACK; to end it now, SELECT pg_terminate_backend(" + pid + ")")
                    .doesNotContain("4111");

            report.commit();
            m.poll();
            assertThat(horizon(m).of(Kind.BACKEND)).isEmpty();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void sessionThatWroteAndWentIdleHoldsItsTransactionIdUntilItRollsBack(int major) throws Exception {
        PgServer pg = server(major);
        pg.execute("CREATE TABLE IF NOT EXISTS orders (id int, note text)");
        try (TestMonitor m = TestMonitor.watching(pg, LOW_WARNING);
                Connection writer = pg.connect("postgres", "checkout")) {
            int pid = pid(writer);
            writer.setAutoCommit(false);
            try (Statement st = writer.createStatement()) {
                // READ COMMITTED: between statements it keeps no snapshot, only its transaction ID.
                st.execute("INSERT INTO orders VALUES (7, 'pending')");
            }
            long xid = queryLong(pg, "SELECT backend_xid::text::int8 FROM pg_stat_activity WHERE pid = " + pid);
            consumeTransactionIds(pg, 1100);
            long before = queryLong(pg, "SELECT age('" + xid + "'::xid)");
            m.poll();
            long after = queryLong(pg, "SELECT age('" + xid + "'::xid)");

            Holder backend = holder(m, Kind.BACKEND);
            assertThat(backend.pid()).isEqualTo(pid);
            assertThat(backend.field()).isEqualTo("backend_xid");
            // Autovacuum (freeze max age 100,000 on this server) may take transaction IDs in between.
            assertThat(backend.age()).isBetween(before, after);
            assertThat(m.finding("xmin_horizon", "server").orElseThrow().message())
                    .contains("client backend pid " + pid + " (user postgres, application 'checkout'",
                            ") with its transaction ID; query: INSERT INTO orders VALUES (7, '…')");

            writer.rollback();
            m.poll();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
        }
    }

    /**
     * Two holders in turn: the finding stays one (same since) while the horizon stays behind, its
     * message naming whichever holds it furthest back, and clears when the last one lets go.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void whenTheOldestHolderLetsGoTheNextKeepsTheSameFindingOpen(int major) {
        PgServer pg = server(major);
        pg.execute("CREATE TABLE IF NOT EXISTS orders (id int, note text)");
        try (TestMonitor m = TestMonitor.watching(pg, LOW_WARNING)) {
            // The slot first: creating a logical slot waits for every running transaction, prepared ones too.
            pg.execute("SELECT pg_create_logical_replication_slot('old_subscriber', 'test_decoding')");
            consumeTransactionIds(pg, 500);
            pg.execute("BEGIN", "INSERT INTO orders VALUES (9, 'two-phase')", "PREPARE TRANSACTION 'order-9'");
            consumeTransactionIds(pg, 1100);
            m.poll();
            Finding first = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(horizon(m).oldest().orElseThrow().kind()).isEqualTo(Kind.REPLICATION_SLOT);
            assertThat(first.message()).contains("held by logical replication slot 'old_subscriber'",
                    String.format(java.util.Locale.ROOT, "Also holding it: prepared transaction 'order-9' (%,d behind)",
                            holder(m, Kind.PREPARED_TRANSACTION).age()));

            pg.execute("SELECT pg_drop_replication_slot('old_subscriber')");
            m.advance(Duration.ofSeconds(15)).poll();
            Finding second = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(second.since()).isEqualTo(first.since());
            assertThat(second.severity()).isEqualTo(Severity.WARNING);
            assertThat(second.message()).contains("held by prepared transaction 'order-9'").doesNotContain("old_subscriber");

            pg.execute("COMMIT PREPARED 'order-9'");
            m.advance(Duration.ofSeconds(15)).poll();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
        } finally {
            rollbackPrepared(pg, "order-9");
            dropSlot(pg, "old_subscriber");
        }
    }

    /**
     * A standby with hot_standby_feedback and no slot: its long transaction reaches the primary as
     * the WAL sender's backend_xmin, and the primary's finding names the standby. Then through a
     * physical slot: the slot's xmin, which stays when the standby goes away.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void standbyFeedbackOpensXminHorizonNamingTheStandbyAndEndingItsQueryClears(int major) throws Exception {
        try (PgServer primary = PgServer.start(major, Map.of("hot_standby_feedback", "on",
                "wal_receiver_status_interval", "1s"));
                PgServer standby = primary.startStandby("standby_h");
                TestMonitor m = TestMonitor.watching(primary, LOW_WARNING);
                TestMonitor onStandby = TestMonitor.watching(standby, LOW_WARNING);
                Connection report = standby.connect("postgres", "standby-report")) {
            primary.execute("CREATE TABLE feedback_probe (id int)", "INSERT INTO feedback_probe VALUES (1)");
            PgServer.await("the standby replays", () -> {
                try (Connection c = standby.connect("postgres")) {
                    return standby.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname = 'feedback_probe'") == 1;
                } catch (SQLException e) {
                    return false;
                }
            });
            report.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            report.setAutoCommit(false);
            try (Statement st = report.createStatement()) {
                st.execute("SELECT count(*) FROM feedback_probe");
            }
            consumeTransactionIds(primary, 1100);
            PgServer.await("the standby's feedback holds the horizon 1,100 behind", () -> {
                m.poll();
                return horizon(m).of(Kind.STANDBY).map(h -> h.age() >= 1100).orElse(false);
            });
            Holder fed = holder(m, Kind.STANDBY);
            assertThat(fed.name()).isEqualTo("standby_h");
            assertThat(fed.backendType()).isEqualTo("walsender");
            assertThat(fed.field()).isEqualTo("backend_xmin");
            assertThat(fed.client()).isEqualTo("127.0.0.1");
            assertThat(fed.pid()).isNotNull();
            Finding f = m.finding("xmin_horizon", "server").orElseThrow();
            assertThat(f.message()).contains(String.format(java.util.Locale.ROOT,
                    "held by standby 'standby_h' (client 127.0.0.1, WAL sender pid %d) through hot_standby_feedback",
                    fed.pid()), "set hot_standby_feedback = off on the standby");

            onStandby.poll();
            assertThat(onStandby.last().collectors()).anySatisfy(c -> {
                assertThat(c.collector()).isEqualTo(XminHorizonCollector.KEY);
                assertThat(c.enabled()).isFalse();
            });
            assertThat(onStandby.last().evaluations()).doesNotContainKey("xmin_horizon");

            report.commit();
            PgServer.await("the standby lets go", () -> {
                m.poll();
                return m.finding("xmin_horizon", "server").isEmpty();
            });

            // Through a physical slot the feedback is the slot's xmin, and it stays when the standby goes away.
            primary.execute("SELECT pg_create_physical_replication_slot('standby_h_slot')");
            standby.execute("ALTER SYSTEM SET primary_slot_name = 'standby_h_slot'", "SELECT pg_reload_conf()");
            PgServer.await("the standby streams through its slot", () -> {
                try (Connection c = primary.connect("postgres")) {
                    return primary.queryLong(c, "SELECT count(*) FROM pg_replication_slots"
                            + " WHERE slot_name = 'standby_h_slot' AND active AND xmin IS NOT NULL") == 1;
                } catch (SQLException e) {
                    return false;
                }
            });
            try (Statement st = report.createStatement()) {
                st.execute("SELECT count(*) FROM feedback_probe");
            }
            consumeTransactionIds(primary, 1100);
            PgServer.await("the slot's xmin holds the horizon 1,100 behind", () -> {
                m.poll();
                return horizon(m).of(Kind.REPLICATION_SLOT).map(h -> h.age() >= 1100).orElse(false);
            });
            Holder slot = holder(m, Kind.REPLICATION_SLOT);
            assertThat(slot.name()).isEqualTo("standby_h_slot");
            assertThat(slot.slotType()).isEqualTo("physical");
            assertThat(slot.field()).isEqualTo("xmin");
            assertThat(slot.active()).isTrue();
            assertThat(slot.database()).isNull();
            assertThat(horizon(m).of(Kind.STANDBY)).as("with a slot, the WAL sender holds no xmin itself").isEmpty();
            assertThat(m.finding("xmin_horizon", "server").orElseThrow().message()).contains(String.format(
                    java.util.Locale.ROOT, "held by physical replication slot 'standby_h_slot' (active, pid %d) with its"
                            + " xmin. Vacuum cannot remove the rows deleted after it, nor freeze past it. It is the"
                            + " hot_standby_feedback of the standby that uses the slot: a long query or transaction on"
                            + " that standby holds it", slot.pid()));

            standby.stop();
            PgServer.await("the slot is inactive", () -> {
                m.poll();
                return horizon(m).of(Kind.REPLICATION_SLOT).map(h -> !h.active()).orElse(false);
            });
            assertThat(holder(m, Kind.REPLICATION_SLOT).age()).as("the last feedback stays").isGreaterThanOrEqualTo(1100);
            assertThat(m.finding("xmin_horizon", "server").orElseThrow().message()).contains(
                    "held by physical replication slot 'standby_h_slot' (inactive",
                    "no standby is connected and its last feedback stays; if it will not come back, drop the slot:"
                            + " SELECT pg_drop_replication_slot('standby_h_slot')");
            primary.execute("SELECT pg_drop_replication_slot('standby_h_slot')");
            m.poll();
            assertThat(m.finding("xmin_horizon", "server")).isEmpty();
        }
    }
}
