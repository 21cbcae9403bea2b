package io.pgvigil.relations;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.pgvigil.relations.RelationsCollector.DatabaseRelations;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.relations.Relations.Visit;
import io.pgvigil.relations.RelationWindow.TableDelta;

/**
 * Remembers each database's last visit and turns the next one into a {@link RelationWindow}, and
 * keeps, per index, since when no scan has been seen. Bounded by the catalog: an index or a
 * database that is gone is forgotten at the next visit. Not thread-safe: used from the poll only.
 */
public final class RelationHistory {

    private final Map<String, DatabaseState> states = new TreeMap<>();

    /** Records a successful visit of {@code datname}. */
    public void visited(String datname, Instant at, DatabaseRelations current) {
        DatabaseState previous = states.get(datname);
        RelationWindow window = previous == null ? null : between(previous, at, current);
        Map<Long, Instant> idleSince = new HashMap<>();
        Map<Long, Instant> scanSeenAt = new HashMap<>();
        Map<Long, Index> before = new HashMap<>();
        if (previous != null) {
            previous.current().indexes().forEach(i -> before.put(i.indexrelid(), i));
        }
        for (Index index : current.indexes()) {
            Index prev = before.get(index.indexrelid());
            boolean unchanged = prev != null && prev.scans() == index.scans();
            idleSince.put(index.indexrelid(), unchanged ? previous.idleSince().getOrDefault(index.indexrelid(), at) : at);
            if (prev != null && !unchanged) {
                scanSeenAt.put(index.indexrelid(), at);
            } else if (prev != null && previous.scanSeenAt().containsKey(index.indexrelid())) {
                scanSeenAt.put(index.indexrelid(), previous.scanSeenAt().get(index.indexrelid()));
            }
        }
        states.put(datname, new DatabaseState(datname, at, true, current, window, idleSince, scanSeenAt));
    }

    /** The latest visit of {@code datname} failed: its last numbers stay, marked stale. */
    public void failed(String datname) {
        DatabaseState s = states.get(datname);
        if (s != null && s.fresh()) {
            states.put(datname, new DatabaseState(s.datname(), s.at(), false, s.current(), s.window(), s.idleSince(),
                    s.scanSeenAt()));
        }
    }

    /** Forgets every database not in {@code present} (dropped, excluded, or no longer accepting connections). */
    public void retain(Set<String> present) {
        states.keySet().retainAll(present);
    }

    public Relations relations(List<Visit> visits) {
        return new Relations(states, visits);
    }

    static RelationWindow between(DatabaseState previous, Instant at, DatabaseRelations current) {
        Map<Long, Index> before = new HashMap<>();
        previous.current().indexes().forEach(i -> before.put(i.indexrelid(), i));
        long hit = 0;
        long read = 0;
        long accessedBytes = 0;
        Map<Long, Long> idxScansByTable = new HashMap<>();
        for (Index index : current.indexes()) {
            Index prev = before.get(index.indexrelid());
            if (prev == null || index.scans() < prev.scans() || index.blocksHit() < prev.blocksHit()
                    || index.blocksRead() < prev.blocksRead()) {
                continue;
            }
            hit += index.blocksHit() - prev.blocksHit();
            read += index.blocksRead() - prev.blocksRead();
            if (index.blocksHit() + index.blocksRead() > prev.blocksHit() + prev.blocksRead()) {
                accessedBytes += index.sizeBytes();
            }
            idxScansByTable.merge(index.relid(), index.scans() - prev.scans(), Long::sum);
        }
        Map<Long, Table> tablesBefore = new HashMap<>();
        previous.current().tables().forEach(t -> tablesBefore.put(t.relid(), t));
        Map<Long, TableDelta> tables = new HashMap<>();
        long heapHit = 0;
        long heapRead = 0;
        for (Table table : current.tables()) {
            Table prev = tablesBefore.get(table.relid());
            if (prev == null) {
                continue;
            }
            if (table.heapBlocksHit() >= prev.heapBlocksHit() && table.heapBlocksRead() >= prev.heapBlocksRead()) {
                heapHit += table.heapBlocksHit() - prev.heapBlocksHit();
                heapRead += table.heapBlocksRead() - prev.heapBlocksRead();
            }
            if (table.seqScans() < prev.seqScans() || table.seqRowsRead() < prev.seqRowsRead()) {
                continue;
            }
            tables.put(table.relid(), new TableDelta(table.seqScans() - prev.seqScans(),
                    table.seqRowsRead() - prev.seqRowsRead(), idxScansByTable.getOrDefault(table.relid(), 0L)));
        }
        double seconds = Duration.between(previous.at(), at).toNanos() / 1e9;
        return new RelationWindow(seconds, hit, read, heapHit, heapRead, tables, accessedBytes);
    }
}
