package io.pgvigil.relations;

import java.util.Map;

/**
 * What one database's indexes and tables did between two visits. Relations whose counters went
 * backwards (a reset) or that were not there at the earlier visit count for nothing here, so no
 * delta is ever negative.
 *
 * @param seconds      time between the two visits
 * @param idxBlksHit   index blocks found in shared buffers, summed over the database's indexes
 * @param idxBlksRead  index blocks read from the kernel (page cache or disk)
 * @param heapBlksHit  table (heap) blocks found in shared buffers, summed over the database's tables
 * @param heapBlksRead table (heap) blocks read from the kernel
 * @param tables       per table (by relid)
 * @param accessedIndexBytes the size of the indexes that had a block access (hit or read) between the two visits:
 *                     the working set that {@code index_hit_rate} weighs against {@code shared_buffers}
 */
public record RelationWindow(double seconds, long idxBlksHit, long idxBlksRead, long heapBlksHit, long heapBlksRead,
        Map<Long, TableDelta> tables, long accessedIndexBytes) {

    public RelationWindow {
        tables = Map.copyOf(tables);
    }

    public long idxBlockAccesses() {
        return idxBlksHit + idxBlksRead;
    }

    /** Scans of one table in the interval. {@code idxScans} sums the scans of its indexes. */
    public record TableDelta(long seqScans, long seqRowsRead, long idxScans) {

        /** Sequential scans' share of all scans, 0 when there were none. */
        public double seqShare() {
            long all = seqScans + idxScans;
            return all == 0 ? 0 : (double) seqScans / all;
        }

        public double rowsPerSeqScan() {
            return seqScans == 0 ? 0 : (double) seqRowsRead / seqScans;
        }
    }
}
