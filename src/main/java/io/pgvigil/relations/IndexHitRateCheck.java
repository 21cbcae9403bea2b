package io.pgvigil.relations;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jakarta.inject.Singleton;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.Unit;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.target.ServerInfo;

/**
 * {@code index_hit_rate}: the share of a database's index block accesses that shared buffers
 * answered between its last two visits (idx_blks_hit / (idx_blks_hit + idx_blks_read) over every
 * user index), judged only with at least {@code min-block-accesses}. Lower is worse. Subject: the
 * database.
 *
 * <p>A low rate means different things. When the indexes read in the window are larger than
 * {@code shared_buffers}, they do not fit: the finding opens and says so, with both sizes. When they
 * fit, the misses are either a cache warming up after the server started, which needs nothing, or
 * blocks read again after something else evicted them. The check counts, per database and from the
 * server's start, the blocks read from outside shared buffers in windows whose indexes fit. It calls
 * the cache warming, and opens no finding, only while that count began within
 * {@link #WARMING_START} of the server's start (pgvigil was watching from the start), no window since
 * the start overran shared buffers, and the count stays within the pages those indexes hold (so every
 * miss can have been a first read). Otherwise a low rate opens the finding: past the pages it says the
 * indexes are evicted; when pgvigil began watching a server already running, it says the misses are
 * first reads or evictions, which it cannot tell apart.
 */
@Singleton
public class IndexHitRateCheck extends RelationCheck {

    public static final String ID = "index_hit_rate";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.DATABASE,
            "index blocks found in shared buffers / index block accesses between two visits (≥ min-block-accesses); a cache warming up opens none",
            "Index reads in database {{ $labels.subject }} miss shared buffers", IndexHitRateCheck::new).whereLowerIsWorse().alertAfter(Duration.ofMinutes(5));

    /** How soon after the server's start the count must begin for a warming verdict. */
    static final Duration WARMING_START = Duration.ofMinutes(5);

    /**
     * Since the server's start (or since pgvigil first saw it): blocks read from outside shared buffers
     * in windows whose indexes fit, the pages those indexes hold, and whether a window overran shared buffers.
     */
    private record Warming(double serverStart, Instant from, Instant countedVisit, long blocksRead, long pages,
            boolean overrun) {

        /** Every miss since the server started can have been a first read. */
        boolean warming() {
            return !overrun && blocksRead <= pages
                    && from.getEpochSecond() - serverStart <= WARMING_START.toSeconds();
        }
    }

    private final long minAccesses;
    private final Map<String, Warming> warming = new HashMap<>();
    private ServerInfo server;
    private Instant now;

    public IndexHitRateCheck(PgvigilConfig config) {
        super(SPEC, config.checks().indexHitRate(), config.checks().indexHitRate().warning(),
                config.checks().indexHitRate().critical());
        this.minAccesses = config.checks().indexHitRate().minBlockAccesses();
    }

    @Override
    void begin(Snapshot snapshot) {
        server = snapshot.server();
        now = snapshot.at();
        warming.keySet().retainAll(snapshot.get(Relations.class).map(r -> r.databases().keySet()).orElse(java.util.Set.of()));
    }

    @Override
    List<Evaluation> judge(DatabaseState db) {
        RelationWindow w = db.window();
        if (w == null) {
            return List.of(Evaluation.held(db.datname()));
        }
        Warming warm = count(db, w);
        if (w.idxBlockAccesses() < minAccesses) {
            return List.of();
        }
        double ratio = (double) w.idxBlksHit() / w.idxBlockAccesses();
        Severity severity = Severity.below(ratio, warning(), critical());
        String measured = String.format(Locale.ROOT,
                "%.2f%% of index block accesses in database %s were found in shared buffers over the last %.0f s"
                        + " (%d read from outside of %d)",
                ratio * 100, db.datname(), w.seconds(), w.idxBlksRead(), w.idxBlockAccesses());
        Long sharedBuffers = server == null ? null : server.sharedBuffersBytes();
        String message;
        if (sharedBuffers == null || w.accessedIndexBytes() == 0) {
            message = measured + "; index blocks are read from outside shared buffers: compare the size of the"
                    + " indexes being used with shared_buffers";
        } else if (w.accessedIndexBytes() > sharedBuffers) {
            message = measured + String.format(Locale.ROOT, "; the indexes read (%s) are larger than shared_buffers (%s):"
                    + " they do not fit. Raise shared_buffers (with the memory to back it), or read less: drop unused"
                    + " and duplicate indexes, and make sure the hot lookups use the narrowest index",
                    size(w.accessedIndexBytes()), size(sharedBuffers));
        } else if (warm.warming()) {
            // Every miss since the server started can have been a first read: a cache warming up.
            severity = null;
            message = measured + String.format(Locale.ROOT, "; the indexes read (%s) fit in shared_buffers (%s) and %d"
                    + " blocks were read from outside %s, no more than the %d they hold: the cache is warming"
                    + " up, nothing to do", size(w.accessedIndexBytes()), size(sharedBuffers), warm.blocksRead(),
                    since(warm), warm.pages());
        } else if (warm.blocksRead() > warm.pages()) {
            message = measured + String.format(Locale.ROOT, "; the indexes read (%s) fit in shared_buffers (%s), yet %d"
                    + " blocks were read from outside %s, more than the %d they hold: they are evicted by other"
                    + " reads. Look for large sequential scans (seq_scan_heavy) and other databases' work, and compare"
                    + " the table hit rate; shared_buffers may be too small for tables and indexes together",
                    size(w.accessedIndexBytes()), size(sharedBuffers), warm.blocksRead(), since(warm), warm.pages());
        } else {
            message = measured + String.format(Locale.ROOT, "; the indexes read (%s) fit in shared_buffers (%s): the"
                    + " misses are blocks read for the first time (a new index or query, or %s) or evicted by other"
                    + " reads; pgvigil cannot tell which. If the rate stays low, look for large sequential scans"
                    + " (seq_scan_heavy) and other databases' work", size(w.accessedIndexBytes()), size(sharedBuffers),
                    warm.overrun() ? "the indexes read earlier did not fit" : "pgvigil began watching after the server started");
        }
        return List.of(Evaluation.measured(db.datname(), ratio, severity,
                severity == Severity.CRITICAL ? critical() : warning(), message));
    }

    /**
     * Adds the visit's blocks read to the database's count (once per visit: a database is judged again
     * at every poll until its next visit). Only a restart starts the count again; a window whose indexes
     * do not fit marks it overrun. Null when shared_buffers or the indexes' size is unknown.
     */
    private Warming count(DatabaseState db, RelationWindow w) {
        Long sharedBuffers = server == null ? null : server.sharedBuffersBytes();
        if (sharedBuffers == null || w.accessedIndexBytes() == 0) {
            return null;
        }
        boolean fits = w.accessedIndexBytes() <= sharedBuffers;
        long pages = w.accessedIndexBytes() / Math.max(1, server.blockSize());
        Warming before = warming.get(db.datname());
        if (before != null && before.serverStart() != server.startTimeSeconds()) {
            before = null;
        }
        if (before != null && before.countedVisit().equals(db.at())) {
            return before;
        }
        Warming next = before == null
                ? new Warming(server.startTimeSeconds(), db.at().minusMillis(Math.round(w.seconds() * 1000)), db.at(),
                        fits ? w.idxBlksRead() : 0, fits ? pages : 0, !fits)
                : new Warming(before.serverStart(), before.from(), db.at(),
                        before.blocksRead() + (fits ? w.idxBlksRead() : 0), Math.max(before.pages(), fits ? pages : 0),
                        before.overrun() || !fits);
        warming.put(db.datname(), next);
        return next;
    }

    /** "in the last 12 min (the server started 13 min ago)": when the count began, with the server's uptime within its first day. */
    private String since(Warming warm) {
        String from = warm == null ? "since the last visit" : "in the last " + ago(Math.round(Duration.between(warm.from(), now).toMillis() / 1000.0));
        double uptime = now.getEpochSecond() + now.getNano() / 1e9 - server.startTimeSeconds();
        return uptime >= 0 && uptime < 86400 ? from + " (the server started " + ago((long) uptime) + " ago)" : from;
    }

    private static String ago(long seconds) {
        return seconds < 120 ? seconds + " s" : seconds < 7200 ? seconds / 60 + " min" : seconds / 3600 + " h";
    }
}
