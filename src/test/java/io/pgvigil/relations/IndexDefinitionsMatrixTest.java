package io.pgvigil.relations;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.relations.RelationsCollector.DatabaseRelations;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.testing.PgServer;

/**
 * A visit reads index definitions only when the catalog changed ({@link RelationsCollector}): on every
 * supported major, each change that alters what pgvigil knows of an index is seen at the next visit, a
 * visit after none reads statistics only and still sees them move, and an in-place update (VACUUM,
 * ANALYZE) or another session's temporary table is not taken for a change.
 */
class IndexDefinitionsMatrixTest {

    private static final String DB = "idxdefs";

    /** The collector as one database's visits use it, on a pg_monitor session like pgvigil's. */
    private static final class Visits implements AutoCloseable {
        final RelationsCollector collector = new RelationsCollector();
        final Connection session;
        final int versionNum;

        Visits(PgServer pg) throws SQLException {
            session = DriverManager.getConnection(pg.jdbcUrl(DB), PgServer.MONITOR_ROLE, PgServer.MONITOR_PASSWORD);
            // Like pgvigil's sessions (TargetConnector): read-only transactions.
            session.setAutoCommit(false);
            session.setReadOnly(true);
            versionNum = (int) pg.queryLong(session, "SELECT current_setting('server_version_num')::int");
            session.commit();
        }

        DatabaseRelations visit() throws SQLException {
            DatabaseRelations r = collector.collect(session, versionNum, 8192);
            session.commit();
            return r;
        }

        /** A visit that must read the definitions again (or, with {@code false}, must not). */
        DatabaseRelations visit(boolean definitionsRead) throws SQLException {
            long before = collector.definitionReads();
            DatabaseRelations r = visit();
            assertThat(collector.definitionReads() - before).as("definitions read by this visit")
                    .isEqualTo(definitionsRead ? 1 : 0);
            return r;
        }

        @Override
        public void close() throws SQLException {
            session.close();
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void everyChangeToADefinitionIsSeenAtTheNextVisitAndNothingElseRereadsThem(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase(DB);
        try (Connection admin = pg.connect(DB); Statement st = admin.createStatement(); Visits v = new Visits(pg)) {
            st.execute("CREATE SCHEMA shop");
            st.execute("CREATE TABLE shop.orders (id bigint PRIMARY KEY, ref text, customer int, note text)");
            st.execute("INSERT INTO shop.orders SELECT g, 'r' || g, g % 50, 'n' FROM generate_series(1, 5000) g");
            st.execute("CREATE UNIQUE INDEX orders_ref ON shop.orders (ref)");
            st.execute("CREATE INDEX orders_customer ON shop.orders (customer) INCLUDE (note)");
            st.execute("CREATE INDEX orders_lower_ref ON shop.orders (lower(ref)) WHERE customer > 0");

            List<Index> first = v.visit(true).indexes();
            // A probe can count the set-up's rows as just written (a transaction of another database that was
            // running at the first probe); from the next one on, nothing is.
            v.visit();
            assertThat(first).extracting(Index::name)
                    .containsExactlyInAnyOrder("orders_pkey", "orders_ref", "orders_customer", "orders_lower_ref");
            assertThat(index(first, "orders_customer").columns()).containsExactly("customer", "note");
            assertThat(index(first, "orders_lower_ref").columns()).containsExactly("lower(ref)");

            // Nothing changed: statistics only, and they still move.
            long scans = index(first, "orders_ref").scans();
            inOwnSession(pg, "SET enable_seqscan = off", "SELECT id FROM shop.orders WHERE ref = 'r7'");
            PgServer.await("the index scan is counted", () -> scans(pg, "orders_ref") > scans);
            Index scanned = index(v.visit(false).indexes(), "orders_ref");
            assertThat(scanned.scans()).isGreaterThan(scans);
            assertThat(scanned.schema()).isEqualTo("shop");
            assertThat(scanned.table()).isEqualTo("orders");
            assertThat(scanned.columns()).containsExactly("ref");

            // VACUUM and ANALYZE write relpages in place: not a change, yet the size read is the new one.
            long size = index(v.visit(false).indexes(), "orders_customer").sizeBytes();
            st.execute("INSERT INTO shop.orders SELECT g, 'r' || g, g % 50, 'n' FROM generate_series(5001, 40000) g");
            st.execute("VACUUM ANALYZE shop.orders");
            assertThat(index(v.visit(false).indexes(), "orders_customer").sizeBytes()).isGreaterThan(size);

            // Another session's temporary table, with a primary key and an index, is not a change.
            try (Connection app = pg.connect(DB); Statement t = app.createStatement()) {
                t.execute("CREATE TEMP TABLE scratch (id int PRIMARY KEY, v int)");
                t.execute("CREATE INDEX scratch_v ON scratch (v)");
                assertThat(v.visit(false).indexes()).extracting(Index::name).doesNotContain("scratch_pkey", "scratch_v");
            }

            st.execute("ALTER INDEX shop.orders_ref RENAME TO orders_reference");
            assertThat(v.visit(true).indexes()).extracting(Index::name).contains("orders_reference")
                    .doesNotContain("orders_ref");

            st.execute("ALTER TABLE shop.orders RENAME TO purchases");
            assertThat(v.visit(true).indexes()).extracting(Index::table).containsOnly("purchases");

            st.execute("ALTER SCHEMA shop RENAME TO store");
            assertThat(v.visit(true).indexes()).extracting(Index::schema).containsOnly("store");

            st.execute("CREATE SCHEMA archive");
            st.execute("ALTER TABLE store.purchases SET SCHEMA archive");
            assertThat(v.visit(true).indexes()).extracting(Index::schema).containsOnly("archive");

            st.execute("CREATE INDEX purchases_note ON archive.purchases (note)");
            assertThat(v.visit(true).indexes()).extracting(Index::name).contains("purchases_note");
            st.execute("DROP INDEX archive.purchases_note");
            assertThat(v.visit(true).indexes()).extracting(Index::name).doesNotContain("purchases_note");

            // A foreign key that points at a unique index makes it back a constraint; dropping it undoes that.
            assertThat(index(v.visit().indexes(), "orders_reference").backsConstraint()).isFalse();
            st.execute("CREATE TABLE archive.lines (id int PRIMARY KEY, ref text)");
            st.execute("ALTER TABLE archive.lines ADD CONSTRAINT lines_ref_fk FOREIGN KEY (ref)"
                    + " REFERENCES archive.purchases (ref)");
            assertThat(index(v.visit(true).indexes(), "orders_reference").backsConstraint()).isTrue();
            st.execute("ALTER TABLE archive.lines DROP CONSTRAINT lines_ref_fk");
            assertThat(index(v.visit(true).indexes(), "orders_reference").backsConstraint()).isFalse();

            // A unique index promoted to a primary key (it is also renamed after the constraint).
            st.execute("CREATE UNIQUE INDEX lines_ref_key ON archive.lines (ref)");
            st.execute("ALTER TABLE archive.lines DROP CONSTRAINT lines_pkey");
            st.execute("ALTER TABLE archive.lines ALTER COLUMN ref SET NOT NULL");
            v.visit(true);
            st.execute("ALTER TABLE archive.lines ADD CONSTRAINT lines_pk PRIMARY KEY USING INDEX lines_ref_key");
            Index promoted = index(v.visit(true).indexes(), "lines_pk");
            assertThat(promoted.primary()).isTrue();
            assertThat(promoted.backsConstraint()).isTrue();

            // REINDEX CONCURRENTLY swaps in a new index (a new oid) under the old name.
            long oid = index(v.visit().indexes(), "orders_customer").indexrelid();
            st.execute("REINDEX INDEX CONCURRENTLY archive.orders_customer");
            Index rebuilt = index(v.visit(true).indexes(), "orders_customer");
            assertThat(rebuilt.indexrelid()).isNotEqualTo(oid);
            assertThat(rebuilt.columns()).containsExactly("customer", "note");

            // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind.
            try {
                st.execute("CREATE UNIQUE INDEX CONCURRENTLY purchases_customer_uq ON archive.purchases (customer)");
                throw new AssertionError("a unique index over duplicate customers was built");
            } catch (SQLException expected) {
                assertThat(expected.getSQLState()).isEqualTo("23505");
            }
            assertThat(index(v.visit(true).indexes(), "purchases_customer_uq").valid()).isFalse();
            st.execute("DROP INDEX archive.purchases_customer_uq");
            v.visit(true);

            // A column renamed under an index changes its column names and expression text, not its
            // definition nor any row the probe counts: the statistics system's count of pg_attribute
            // updates says so, once the renaming session has reported it.
            long updates = attributeUpdates(pg);
            v.visit();
            inOwnSession(pg, "ALTER TABLE archive.purchases RENAME COLUMN ref TO reference");
            PgServer.await("the rename is counted", () -> attributeUpdates(pg) > updates);
            List<Index> renamed = v.visit(true).indexes();
            assertThat(index(renamed, "orders_reference").columns()).containsExactly("reference");
            assertThat(index(renamed, "orders_lower_ref").columns()).containsExactly("lower(reference)");
            assertThat(index(renamed, "orders_lower_ref").expressions()).contains("reference");
            // What advice is checked against: the index on the renamed column still serves a filter on it
            // (with the index's own attribute names, "ref", an existing index would be proposed again).
            assertThat(io.pgvigil.plans.IndexAdvisor.serving(List.of("reference"), 1, renamed))
                    .extracting(Index::name).isEqualTo("orders_reference");

            // Without any change, the definitions are still read again every DEFINITIONS_AT_LEAST_EVERY visits.
            int reads = 0;
            for (int i = 0; i < RelationsCollector.DEFINITIONS_AT_LEAST_EVERY; i++) {
                long before = v.collector.definitionReads();
                v.visit();
                reads += (int) (v.collector.definitionReads() - before);
            }
            assertThat(reads).isEqualTo(1);
        } finally {
            pg.execute("DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
        }
    }

    /**
     * On a standby the probe sees what replay writes (rows keep the primary's transaction ids), so the
     * changes made on the primary are seen at the standby's next visit too.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void onAStandbyChangesReplayedFromThePrimaryAreSeenAtTheNextVisit(int major) throws Exception {
        try (PgServer primary = PgServer.start(major); PgServer standby = primary.startStandby("standby_defs")) {
            primary.execute("CREATE DATABASE " + DB);
            try (Connection admin = primary.connect(DB); Statement st = admin.createStatement()) {
                st.execute("CREATE TABLE accounts (id int PRIMARY KEY, email text)");
                st.execute("CREATE UNIQUE INDEX accounts_email ON accounts (email)");
                awaitReplayed(standby, "SELECT count(*) FROM pg_class WHERE relname = 'accounts_email'");
                try (Visits v = new Visits(standby)) {
                    assertThat(v.visit(true).indexes()).extracting(Index::name)
                            .containsExactlyInAnyOrder("accounts_pkey", "accounts_email");
                    v.visit();
                    v.visit(false);

                    st.execute("ALTER INDEX accounts_email RENAME TO accounts_email_key");
                    awaitReplayed(standby, "SELECT count(*) FROM pg_class WHERE relname = 'accounts_email_key'");
                    assertThat(v.visit(true).indexes()).extracting(Index::name).contains("accounts_email_key");

                    st.execute("CREATE TABLE invites (id int PRIMARY KEY, email text REFERENCES accounts (email))");
                    awaitReplayed(standby, "SELECT count(*) FROM pg_constraint WHERE conname = 'invites_email_fkey'");
                    List<Index> after = v.visit(true).indexes();
                    assertThat(index(after, "accounts_email_key").backsConstraint()).isTrue();
                    assertThat(after).extracting(Index::name).contains("invites_pkey");
                    v.visit();
                    v.visit(false);
                }
            }
        }
    }

    private static void awaitReplayed(PgServer standby, String countQuery) {
        PgServer.await("the standby replays it", () -> {
            try (Connection c = standby.connect(DB)) {
                return standby.queryLong(c, countQuery) > 0;
            } catch (SQLException e) {
                return false;
            }
        });
    }

    private static Index index(List<Index> indexes, String name) {
        return indexes.stream().filter(i -> i.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no index " + name + " among " + indexes.stream().map(Index::name).toList()));
    }

    /**
     * Runs statements in a session of their own, which reports its counts to the statistics system when it
     * ends (an open session reports them only when it goes idle, and before PostgreSQL 15 only if the last
     * report was half a second ago).
     */
    private static void inOwnSession(PgServer pg, String... sql) throws SQLException {
        try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    private static long scans(PgServer pg, String index) {
        try (Connection c = pg.connect(DB)) {
            return pg.queryLong(c, "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = ?", index);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long attributeUpdates(PgServer pg) {
        try (Connection c = pg.connect(DB)) {
            return pg.queryLong(c, "SELECT pg_stat_get_tuples_updated('pg_catalog.pg_attribute'::regclass)");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
