package io.pgvigil.relations;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.pgvigil.relations.RelationsCollector.DatabaseRelations;
import io.pgvigil.relations.RelationsCollector.Index;

/**
 * The latest index and table statistics of every visited database, with what changed since each
 * database's previous visit. Databases are visited on their own, slower interval
 * ({@code pgvigil.indexes.interval}); every poll's snapshot carries the latest of these, so checks
 * judge the same numbers until the next visit. Immutable.
 *
 * @param databases the state of each visited database by name
 * @param visits    the outcome of the latest visit of each database that discovery found and the
 *                  configuration includes, by name order
 */
public record Relations(Map<String, DatabaseState> databases, List<Visit> visits) {

    public Relations {
        databases = Map.copyOf(databases);
        visits = List.copyOf(visits);
    }

    /**
     * One database as of its last successful visit.
     *
     * @param at        when that visit read the statistics
     * @param fresh     false when the latest visit failed and these numbers are from an earlier one:
     *                  checks then hold their findings for this database instead of judging again
     * @param window    what changed since the visit before, null when there is no earlier visit
     * @param idleSince per index (by indexrelid): since when pgvigil has seen no scan of it — from the
     *                  first visit that saw it, its last scan, or the last reset of its counters
     * @param scanSeenAt per index: the visit at which pgvigil last saw its scan count move or reset
     *                  (absent while it has not)
     */
    public record DatabaseState(String datname, Instant at, boolean fresh, DatabaseRelations current,
            RelationWindow window, Map<Long, Instant> idleSince, Map<Long, Instant> scanSeenAt) {

        /**
         * Since when the index has not been scanned: {@code last_idx_scan} where PostgreSQL 16+
         * records it, else what pgvigil observed. A scan pgvigil saw happen (its count moved between
         * two visits) is never reported as older than the visit that saw it: the server's clock and
         * pgvigil's may differ (a sidecar's is not the server's).
         */
        public Instant idleSince(Index index) {
            if (index.lastScanSeconds() == null) {
                return idleSince.getOrDefault(index.indexrelid(), at);
            }
            Instant last = Instant.ofEpochMilli((long) (index.lastScanSeconds() * 1000));
            Instant seen = scanSeenAt.get(index.indexrelid());
            return seen != null && seen.isAfter(last) ? seen : last;
        }
    }

    /**
     * The outcome of one database visit.
     *
     * @param at      when it was attempted
     * @param success whether the statistics were read
     * @param seconds how long it took (connect and both queries), null when skipped without trying
     * @param error   why it failed or was skipped, null on success
     */
    public record Visit(String datname, Instant at, boolean success, Double seconds, int indexes, int tables,
            String error) {
    }

    /** Before any visit, or with visits disabled. */
    public static final Relations NONE = new Relations(Map.of(), List.of());
}
