package io.pgvigil.pgbouncer;

import java.util.List;
import java.util.Map;

/**
 * What one poll read from every watched PgBouncer: the snapshot's result for {@code pooler_saturation}
 * and the {@code pgvigil_pgbouncer_*} series. Empty when no PgBouncer is configured.
 */
public record Poolers(List<Reading> readings) {

    public static final Poolers NONE = new Poolers(List.of());

    public Poolers {
        readings = List.copyOf(readings);
    }

    /**
     * One PgBouncer in one poll.
     *
     * @param name    its {@code pgbouncer} label
     * @param up      whether its console answered every SHOW of this poll
     * @param error   why not, null when up
     * @param version {@code server_version} as the console reports it ({@code 1.18.0/bouncer}), null when down
     * @param seconds time the login (when one was needed) and the SHOW commands took
     */
    public record Reading(String name, String address, boolean up, String error, String version, List<Pool> pools,
            List<Database> databases, List<Stats> stats, double seconds) {

        public Reading {
            pools = List.copyOf(pools);
            databases = List.copyOf(databases);
            stats = List.copyOf(stats);
        }

        static Reading down(PgBouncerTarget target, String error, double seconds) {
            return new Reading(target.name(), target.address(), false, error, null, List.of(), List.of(), List.of(), seconds);
        }

        /** The SHOW DATABASES row of {@code database}, null when there is none (a pool of auto_database, say). */
        public Database database(String database) {
            return databases.stream().filter(d -> d.name().equals(database)).findFirst().orElse(null);
        }
    }

    /**
     * One row of {@code SHOW POOLS}: a (database, user) pool. Counts are connections; a column this
     * PgBouncer version lacks is null.
     *
     * @param maxWaitSeconds how long the oldest waiting client has waited ({@code maxwait} + {@code maxwait_us})
     * @param poolMode       {@code session}, {@code transaction} or {@code statement}; null before 1.16
     */
    public record Pool(String database, String user, Long clientsActive, Long clientsWaiting, Long serversActive,
            Long serversIdle, Long serversUsed, Long serversTested, Long serversLogin, Double maxWaitSeconds,
            String poolMode) {

        /** Server connections the pool holds in any state. */
        public long servers() {
            return n(serversActive) + n(serversIdle) + n(serversUsed) + n(serversTested) + n(serversLogin);
        }

        private static long n(Long v) {
            return v == null ? 0 : v;
        }
    }

    /**
     * One row of {@code SHOW DATABASES}.
     *
     * @param poolSize           server connections per user pool of this database
     * @param maxConnections     {@code max_db_connections}: server connections of all its pools together, 0 for no limit
     * @param currentConnections server connections it holds now, all pools together
     */
    public record Database(String name, String host, String database, Long poolSize, Long reservePool,
            Long maxConnections, Long currentConnections, String poolMode, Boolean paused, Boolean disabled) {
    }

    /**
     * One row of {@code SHOW STATS}: counters since PgBouncer started, per database. Times in seconds
     * (PgBouncer reports microseconds).
     */
    public record Stats(String database, Long transactions, Long queries, Long receivedBytes, Long sentBytes,
            Double transactionSeconds, Double querySeconds, Double waitSeconds) {
    }

    /**
     * A column by name, as a number, null when this PgBouncer version has no such column.
     *
     * @throws IllegalArgumentException naming the column and its value when it is not a number
     */
    static Long number(Map<String, String> row, String column) {
        String v = row.get(column);
        if (v == null || v.isBlank()) {
            return null;
        }
        try {
            return Long.valueOf(v.trim());
        } catch (NumberFormatException e) {
            String shown = v.length() > 40 ? v.substring(0, 40) + "..." : v;
            throw new IllegalArgumentException("column " + column + " is '" + shown + "', not a number", e);
        }
    }

    static Double micros(Map<String, String> row, String column) {
        Long v = number(row, column);
        return v == null ? null : v / 1e6;
    }
}
