package io.pgvigil.relations;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.core.LatestState;
import io.pgvigil.core.PollState;
import io.pgvigil.relations.RelationFindings.Ref;
import io.pgvigil.relations.RelationWindow.TableDelta;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.http.BadParameter;

/**
 * {@code GET /api/v1/indexes} and {@code GET /api/v1/tables}: every index and table of the visited
 * databases as of their latest visit, each with the findings it is part of. Parameters:
 * {@code database} (one database), {@code findings=true} (only those with a finding), {@code limit}
 * (default 1000). Reads the latest state only; no request reaches the database.
 */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
public class RelationsResource {

    static final int MAX_LIMIT = 100_000;

    @Inject
    LatestState latest;

    /**
     * One index.
     *
     * @param lastScan  last_idx_scan (PostgreSQL 16+), null when unknown
     * @param idleSince since when no scan was seen (see the unused_index check)
     */
    public record IndexView(String database, String schema, String table, String name, String method,
            List<String> columns, String expressions, String predicate, boolean unique, boolean primary,
            boolean exclusion, boolean backsConstraint, boolean valid, long sizeBytes, long scans, long tuplesRead,
            long tuplesFetched, long blocksHit, long blocksRead, Instant lastScan, Instant idleSince, Instant visitedAt,
            List<Ref> findings) {
    }

    /**
     * One table. The {@code interval*} fields cover the time between its database's last two visits
     * and are null before the second visit.
     *
     * @param idxScans scans of all its indexes, summed
     */
    public record TableView(String database, String schema, String name, long sizeBytes, long liveRows, long seqScans,
            long seqRowsRead, long idxScans, long writes, Instant lastSeqScan, Double intervalSeconds,
            Long intervalSeqScans, Long intervalSeqRowsRead, Long intervalIdxScans, Instant visitedAt,
            List<Ref> findings) {
    }

    @GET
    @Path("/indexes")
    public List<IndexView> indexes(@QueryParam("database") String database,
            @QueryParam("findings") @DefaultValue("false") String onlyFindings,
            @QueryParam("limit") @DefaultValue("1000") String limit) {
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        boolean only = flag("findings", onlyFindings);
        PollState state = latest.get();
        Map<String, List<Ref>> refs = RelationFindings.bySubject(state, RelationFindings.INDEX_CHECKS);
        List<IndexView> views = new ArrayList<>();
        for (DatabaseState db : databases(state, database)) {
            for (Index i : db.current().indexes()) {
                List<Ref> found = refs.getOrDefault(RelationSubjects.of(db.datname(), i.schema(), i.name()), List.of());
                if (only && found.isEmpty()) {
                    continue;
                }
                views.add(new IndexView(db.datname(), i.schema(), i.table(), i.name(), i.method(), i.columns(),
                        i.expressions(), i.predicate(), i.unique(), i.primary(), i.exclusion(), i.backsConstraint(),
                        i.valid(), i.sizeBytes(), i.scans(), i.tuplesRead(), i.tuplesFetched(), i.blocksHit(),
                        i.blocksRead(), instant(i.lastScanSeconds()), db.idleSince(i), db.at(), found));
            }
        }
        views.sort(Comparator.comparing(IndexView::database).thenComparing(IndexView::schema)
                .thenComparing(IndexView::table).thenComparing(IndexView::name));
        return views.size() > n ? views.subList(0, n) : views;
    }

    @GET
    @Path("/tables")
    public List<TableView> tables(@QueryParam("database") String database,
            @QueryParam("findings") @DefaultValue("false") String onlyFindings,
            @QueryParam("limit") @DefaultValue("1000") String limit) {
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        boolean only = flag("findings", onlyFindings);
        PollState state = latest.get();
        Map<String, List<Ref>> refs = RelationFindings.bySubject(state, RelationFindings.TABLE_CHECKS);
        List<TableView> views = new ArrayList<>();
        for (DatabaseState db : databases(state, database)) {
            Map<Long, Long> idxScans = new HashMap<>();
            db.current().indexes().forEach(i -> idxScans.merge(i.relid(), i.scans(), Long::sum));
            for (Table t : db.current().tables()) {
                List<Ref> found = refs.getOrDefault(RelationSubjects.of(db.datname(), t.schema(), t.name()), List.of());
                if (only && found.isEmpty()) {
                    continue;
                }
                TableDelta d = db.window() == null ? null : db.window().tables().get(t.relid());
                views.add(new TableView(db.datname(), t.schema(), t.name(), t.sizeBytes(), t.liveRows(), t.seqScans(),
                        t.seqRowsRead(), idxScans.getOrDefault(t.relid(), 0L), t.writes(),
                        instant(t.lastSeqScanSeconds()), d == null ? null : db.window().seconds(),
                        d == null ? null : d.seqScans(), d == null ? null : d.seqRowsRead(),
                        d == null ? null : d.idxScans(), db.at(), found));
            }
        }
        views.sort(Comparator.comparing(TableView::database).thenComparing(TableView::schema)
                .thenComparing(TableView::name));
        return views.size() > n ? views.subList(0, n) : views;
    }

    private static List<DatabaseState> databases(PollState state, String database) {
        Relations relations = state.snapshot() == null ? null : state.snapshot().get(Relations.class).orElse(null);
        if (relations == null) {
            return List.of();
        }
        return relations.databases().values().stream()
                .filter(db -> database == null || db.datname().equals(database)).toList();
    }

    private static Instant instant(Double epochSeconds) {
        return epochSeconds == null ? null : Instant.ofEpochMilli((long) (epochSeconds * 1000));
    }

    private static boolean flag(String name, String value) {
        if (!value.equals("true") && !value.equals("false")) {
            throw BadParameter.of(name + "='" + value + "' must be true or false");
        }
        return value.equals("true");
    }
}
