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
 * <p>A low rate means two different things. When the indexes read in the window are larger than
 * {@code shared_buffers}, they do not fit: the finding opens and says so, with both sizes. When they
 * fit, the misses are either a cache warming up (after a restart, or an index read for the first
 * time), which needs nothing, or blocks read again after something else evicted them. The check tells
 * the two apart by counting, per database, the blocks read from outside shared buffers since the
 * indexes were first seen to fit (or since the server started): while that count stays within the
 * pages those indexes hold, every miss can have been a first read, so the cache is warming and no
 * finding opens; past it, some block was read twice, and the finding opens saying that the indexes
 * fit but are evicted.
 */
@Singleton
public class IndexHitRateCheck extends RelationCheck {

    public static final String ID = "index_hit_rate";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.DATABASE,
            "index blocks found in shared buffers / index block accesses between two visits (≥ min-block-accesses); a cache warming up opens none",
            "Index reads in database {{ $labels.subject }} miss shared buffers", IndexHitRateCheck::new).whereLowerIsWorse().alertAfter(Duration.ofMinutes(5));

    /** Blocks read from outside shared buffers while the database's indexes fit, and what they hold. */
    private record Warming(double serverStart, Instant from, Instant countedVisit, long blocksRead, long pages) {
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
        } else if (warm != null && warm.blocksRead() <= warm.pages()) {
            // Every miss since the indexes fit can have been a first read: a cache warming up.
            severity = null;
            message = measured + String.format(Locale.ROOT, "; the indexes read (%s) fit in shared_buffers (%s) and %d"
                    + " blocks were read from outside %s, no more than the %d they hold: the cache is warming"
                    + " up, nothing to do", size(w.accessedIndexBytes()), size(sharedBuffers), warm.blocksRead(),
                    since(warm), warm.pages());
        } else {
            message = measured + String.format(Locale.ROOT, "; the indexes read (%s) fit in shared_buffers (%s), yet %d"
                    + " blocks were read from outside %s, more than the %d they hold: they are evicted by other"
                    + " reads. Look for large sequential scans (seq_scan_heavy) and other databases' work, and compare"
                    + " the table hit rate; shared_buffers may be too small for tables and indexes together",
                    size(w.accessedIndexBytes()), size(sharedBuffers), warm == null ? w.idxBlksRead() : warm.blocksRead(),
                    since(warm), warm == null ? 0 : warm.pages());
        }
        return List.of(Evaluation.measured(db.datname(), ratio, severity,
                severity == Severity.CRITICAL ? critical() : warning(), message));
    }

    /**
     * Adds the visit's blocks read to the database's count while its indexes fit in shared buffers
     * (once per visit: a database is judged again at every poll until its next visit); a restart or a
     * window whose indexes do not fit starts the count again.
     */
    private Warming count(DatabaseState db, RelationWindow w) {
        Long sharedBuffers = server == null ? null : server.sharedBuffersBytes();
        if (sharedBuffers == null || w.accessedIndexBytes() == 0 || w.accessedIndexBytes() > sharedBuffers) {
            warming.remove(db.datname());
            return null;
        }
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
                        w.idxBlksRead(), pages)
                : new Warming(before.serverStart(), before.from(), db.at(), before.blocksRead() + w.idxBlksRead(),
                        Math.max(before.pages(), pages));
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
