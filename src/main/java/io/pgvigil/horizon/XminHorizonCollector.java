package io.pgvigil.horizon;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.Collector;
import io.pgvigil.statements.SqlText;
import io.pgvigil.target.ServerInfo;

/**
 * What holds the xmin horizon back: the oldest holder of each kind, with its identity, and the
 * server's {@code autovacuum_freeze_max_age}, in one query (PostgreSQL 13-18) over the views where
 * a transaction ID can pin the horizon:
 * <ul>
 * <li>{@code pg_stat_activity} (its function): a backend's {@code backend_xmin} (its snapshot) or
 * {@code backend_xid} (its own transaction ID), whichever is older. pgvigil's own session is left
 * out, and so are autovacuum workers (a snapshot for one table at a time: a lazy VACUUM's is
 * ignored by the horizon anyway, an ANALYZE's lasts one sample, and neither is for an operator to
 * end), parallel query workers (their leader holds the same snapshot and is the one to name) and
 * any backend in {@code pg_stat_progress_vacuum} (a manual lazy VACUUM, ignored by the horizon
 * like autovacuum's). A physical WAL sender's {@code backend_xmin} is its standby's
 * {@code hot_standby_feedback}: kind {@code standby}, named by the standby's application_name. A
 * logical WAL sender is left out: the horizon ignores a process that is decoding, its slot's
 * {@code catalog_xmin} is what counts;</li>
 * <li>{@code pg_prepared_xacts}: a prepared transaction's own transaction ID;</li>
 * <li>{@code pg_replication_slots}: a slot's {@code xmin} (a standby's feedback through a physical
 * slot) or {@code catalog_xmin} (logical decoding: the system catalogs only), whichever is older.
 * An invalidated slot ({@code wal_status = 'lost'}) is left out: it no longer holds the horizon
 * (verified on 13 and 15: VACUUM's cutoff moves past its {@code catalog_xmin} once it is lost). On
 * 17+ {@code inactive_since} says since when nothing reads the slot.</li>
 * </ul>
 *
 * <p>The age is {@code age(xid)}: how many transaction IDs were assigned after it (the next one
 * minus it), which needs no transaction ID of pgvigil's own, so it works in a read-only
 * transaction. {@code age()} of a permanent ID (frozen, bootstrap) is 2^31-1: such an ID holds
 * nothing and is dropped. A holder that took its ID after the poll's transaction read the next ID
 * would come out at -1; it counts as 0.
 *
 * <p>This reads the backends a second time in the poll ({@code StatActivityCollector} reads
 * {@code pg_stat_activity} for connections): PostgreSQL copies every backend's status once per
 * transaction, at the first read, so the second read costs no new copy and sees the same backends.
 * It reads them through the functions behind the views, {@code pg_stat_get_activity(NULL)} and
 * {@code pg_stat_get_progress_info('VACUUM')}, so that user and database names are looked up only
 * for the backends that hold an xmin, not joined for all (0.30 ms against 0.38 ms a poll with 151
 * backends, docs/performance.md).
 *
 * <p>Series: {@code pgvigil_xmin_horizon_age_transactions{holder}},
 * {@code pgvigil_xmin_horizon_holders{holder}} ({@link HorizonMetrics}).
 */
@ApplicationScoped
public class XminHorizonCollector implements Collector<XminHorizonCollector.Horizon> {

    public static final String KEY = "xmin_horizon";

    /** Before 17 PostgreSQL does not say since when a slot is unused. */
    static final String SLOT_SINCE_13 = "NULL::timestamptz";
    /** 17+: {@code inactive_since}, null while the slot is in use. */
    static final String SLOT_SINCE_17 = "s.inactive_since";

    /**
     * %s: since when a slot is unused ({@link #SLOT_SINCE_13}, {@link #SLOT_SINCE_17}). One row per
     * kind that holds an xmin (the oldest of it, with how many of that kind hold one), or a single
     * row with only {@code freeze_max_age} when nothing does.
     */
    static final String SQL = """
            WITH holders AS (
                SELECT CASE WHEN a.backend_type = 'walsender' THEN 'standby' ELSE 'backend' END AS kind,
                       CASE WHEN a.backend_xmin IS NULL OR age(a.backend_xid) > age(a.backend_xmin)
                            THEN a.backend_xid ELSE a.backend_xmin END AS xid,
                       CASE WHEN a.backend_xmin IS NULL OR age(a.backend_xid) > age(a.backend_xmin)
                            THEN 'backend_xid' ELSE 'backend_xmin' END AS field,
                       a.pid,
                       a.backend_type,
                       a.application_name AS name,
                       pg_get_userbyid(a.usesysid)::text AS owner,
                       host(a.client_addr) AS client,
                       a.state,
                       (SELECT d.datname::text FROM pg_database d WHERE d.oid = a.datid) AS database,
                       a.xact_start AS since,
                       left(a.query, 200) AS query,
                       NULL::text AS slot_type,
                       NULL::boolean AS active
                  FROM pg_stat_get_activity(NULL) a
                 WHERE (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL)
                   AND a.pid <> pg_backend_pid()
                   AND a.backend_type NOT IN ('autovacuum worker', 'parallel worker')
                   AND (a.backend_type <> 'walsender' OR a.datid = 0 OR a.datid IS NULL)
                   AND a.pid NOT IN (SELECT v.pid FROM pg_stat_get_progress_info('VACUUM') v)
                UNION ALL
                SELECT 'prepared_transaction', p.transaction, 'transaction', NULL, NULL, p.gid, p.owner::text,
                       NULL, NULL, p.database::text, p.prepared, NULL, NULL, NULL
                  FROM pg_prepared_xacts p
                UNION ALL
                SELECT 'replication_slot',
                       CASE WHEN s.xmin IS NULL OR age(s.catalog_xmin) > age(s.xmin) THEN s.catalog_xmin ELSE s.xmin END,
                       CASE WHEN s.xmin IS NULL OR age(s.catalog_xmin) > age(s.xmin) THEN 'catalog_xmin' ELSE 'xmin' END,
                       s.active_pid, NULL, s.slot_name::text, NULL, NULL, NULL, s.database::text, %s, NULL,
                       s.slot_type, s.active
                  FROM pg_replication_slots s
                 WHERE (s.xmin IS NOT NULL OR s.catalog_xmin IS NOT NULL)
                   AND s.wal_status IS DISTINCT FROM 'lost'
            ), aged AS (
                SELECT h.*, age(h.xid) AS raw_age FROM holders h
            ), oldest AS (
                SELECT DISTINCT ON (kind) kind,
                       greatest(raw_age, 0)::int8 AS age,
                       count(*) OVER (PARTITION BY kind) AS holders,
                       field, pid, backend_type, name, owner, client, state, database, since,
                       CASE WHEN since IS NOT NULL THEN greatest(0, extract(epoch FROM now() - since))::float8 END
                           AS since_seconds,
                       query, slot_type, active
                  FROM aged
                 WHERE raw_age < 2147483647
                 ORDER BY kind, raw_age DESC, pid
            )
            SELECT f.freeze_max_age, o.*
              FROM (SELECT current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age) f
              LEFT JOIN oldest o ON true
            """;

    static final String SQL_13 = SQL.formatted(SLOT_SINCE_13);
    static final String SQL_17 = SQL.formatted(SLOT_SINCE_17);

    /** What can hold the horizon; the lower-case name is the {@code holder} label. */
    public enum Kind {
        BACKEND, PREPARED_TRANSACTION, REPLICATION_SLOT, STANDBY;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind of(String label) {
            return valueOf(label.toUpperCase(Locale.ROOT));
        }
    }

    /**
     * The oldest holder of one kind. Which fields are set depends on the kind.
     *
     * @param age          transactions the holder is behind the next transaction ID (0 or more)
     * @param holders      how many of this kind hold an xmin (backends with a snapshot or an ID,
     *                     prepared transactions, slots, standbys)
     * @param field        the column holding it: {@code backend_xmin}, {@code backend_xid},
     *                     {@code transaction} (prepared), {@code xmin} or {@code catalog_xmin} (slot)
     * @param pid          backend or WAL sender pid; a slot's {@code active_pid}; null for a prepared
     *                     transaction
     * @param backendType  {@code client backend}, {@code background worker}, ... (backends, standbys)
     * @param name         application_name (backend, standby), gid (prepared), slot name
     * @param owner        user (backend), owner (prepared)
     * @param client       client address; null on a local socket
     * @param state        a backend's state ({@code idle in transaction}, ...)
     * @param database     database of the backend, the prepared transaction or the logical slot
     * @param since        transaction start (backend), prepared at (prepared), inactive since (slot,
     *                     17+); null when PostgreSQL does not know
     * @param sinceSeconds seconds from {@code since} to the poll's transaction start
     * @param query        a backend's query, string literals masked, 200 characters
     * @param slotType     {@code physical} or {@code logical} (slot)
     * @param active       whether something streams from the slot (slot)
     */
    public record Holder(Kind kind, long age, int holders, String field, Integer pid, String backendType, String name,
            String owner, String client, String state, String database, Instant since, Double sinceSeconds,
            String query, String slotType, Boolean active) {
    }

    /**
     * @param freezeMaxAge {@code autovacuum_freeze_max_age} of the server
     * @param holders      the oldest holder of each kind that holds one, oldest first
     */
    public record Horizon(long freezeMaxAge, List<Holder> holders) {

        /** Oldest first; between holders of the same age, in {@link Kind} order. */
        static final Comparator<Holder> OLDEST_FIRST = Comparator.comparingLong(Holder::age).reversed()
                .thenComparing(Holder::kind);

        public Horizon {
            holders = holders.stream().sorted(OLDEST_FIRST).toList();
        }

        /** What holds the horizon furthest back, if anything does. */
        public Optional<Holder> oldest() {
            return holders.stream().findFirst();
        }

        /** Transactions the horizon is behind: the oldest holder's age, 0 when nothing holds it. */
        public long age() {
            return oldest().map(Holder::age).orElse(0L);
        }

        public Optional<Holder> of(Kind kind) {
            return holders.stream().filter(h -> h.kind() == kind).findFirst();
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Horizon> resultType() {
        return Horizon.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        // On a standby nothing vacuums; its queries reach the primary's horizon only through
        // hot_standby_feedback, where this collector sees them as the standby's feedback.
        return server.inRecovery()
                ? Optional.of("the server is a standby; the xmin horizon is judged on the primary, where vacuum runs")
                : Optional.empty();
    }

    @Override
    public Horizon collect(Connection connection, ServerInfo server) throws SQLException {
        long freezeMaxAge = 0;
        List<Holder> holders = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(server.major() >= 17 ? SQL_17 : SQL_13);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                freezeMaxAge = rs.getLong("freeze_max_age");
                String kind = rs.getString("kind");
                if (kind == null) {
                    continue;
                }
                Timestamp since = rs.getTimestamp("since");
                holders.add(new Holder(Kind.of(kind), rs.getLong("age"), rs.getInt("holders"), rs.getString("field"),
                        rs.getObject("pid", Integer.class), rs.getString("backend_type"), rs.getString("name"),
                        rs.getString("owner"), rs.getString("client"), rs.getString("state"), rs.getString("database"),
                        since == null ? null : since.toInstant(), rs.getObject("since_seconds", Double.class),
                        SqlText.redact(rs.getString("query"), 200), rs.getString("slot_type"),
                        rs.getObject("active", Boolean.class)));
            }
        }
        return new Horizon(freezeMaxAge, holders);
    }
}
