package io.pgvigil.relations;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import jakarta.inject.Inject;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.LatestState;
import io.pgvigil.core.PollState;
import io.pgvigil.http.BadParameter;
import io.pgvigil.http.NoData;
import io.pgvigil.http.OpenApiDocument;
import io.pgvigil.relations.RelationFindings.Ref;
import io.pgvigil.relations.RelationWindow.TableDelta;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.relations.Relations.Visit;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;

/**
 * {@code GET /api/v1/indexes} and {@code GET /api/v1/tables}: every index and table of the visited
 * databases as of their latest visit, each with the findings it is part of, in the list envelope
 * with each database's visit time. Parameters: {@code database} (one database), {@code findings=true}
 * (only those with a finding), {@code limit} (default 1000). 503 while there is nothing visited to
 * show: before the first poll, with the target down, with visits off or finding no database, or when
 * every visit failed. Reads the latest state only; no request reaches the database.
 */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
public class RelationsResource {

    static final int MAX_LIMIT = 100_000;

    /** The {@code collector} of this resource's 503 problems (the visits are not a statistics-view collector). */
    static final String VISITS = "database-visits";

    @Inject
    LatestState latest;

    @Inject
    PgvigilConfig config;

    @Schema(name = "IndexList", description = "Indexes as of each database's latest visit")
    @JsonPropertyOrder({ "items", "total", "truncated", "asOf", "databases" })
    public record IndexList(
            @Schema(required = true, description = "Indexes by database, schema, table and name") List<IndexView> items,
            @Schema(required = true, description = "How many indexes matched database and findings, before limit")
            int total,
            @Schema(required = true, description = "true when limit left some out") boolean truncated,
            @Schema(required = true, description = "The oldest visitedAt of the databases listed: every number here "
                    + "is at least this fresh (ISO-8601, UTC)") Instant asOf,
            @Schema(required = true, description = "The databases these items come from")
            List<DatabaseView> databases) {
    }

    @Schema(name = "TableList", description = "Tables as of each database's latest visit")
    @JsonPropertyOrder({ "items", "total", "truncated", "asOf", "databases" })
    public record TableList(
            @Schema(required = true, description = "Tables by database, schema and name") List<TableView> items,
            @Schema(required = true, description = "How many tables matched database and findings, before limit")
            int total,
            @Schema(required = true, description = "true when limit left some out") boolean truncated,
            @Schema(required = true, description = "The oldest visitedAt of the databases listed: every number here "
                    + "is at least this fresh (ISO-8601, UTC)") Instant asOf,
            @Schema(required = true, description = "The databases these items come from")
            List<DatabaseView> databases) {
    }

    @Schema(name = "VisitedDatabase", description = "Where one database's numbers come from")
    @JsonPropertyOrder({ "database", "visitedAt", "fresh", "error" })
    public record DatabaseView(
            @Schema(required = true) String database,
            @Schema(required = true, description = "When the visit these numbers are from read them (ISO-8601, UTC)")
            Instant visitedAt,
            @Schema(required = true, description = "false when the latest visit failed and these numbers are from an "
                    + "earlier one") boolean fresh,
            @Schema(nullable = true, description = "Why the latest visit failed; null when fresh") String error) {
    }

    /** One index. */
    @Schema(name = "Index", description = "One index, cumulative counters as of its database's latest visit")
    @JsonPropertyOrder({ "database", "schema", "table", "name", "method", "columns", "expressions", "predicate",
            "unique", "primary", "exclusion", "backsConstraint", "valid", "sizeBytes", "scans", "tuplesRead",
            "tuplesFetched", "blocksHit", "blocksRead", "lastScanAt", "idleStartedAt", "visitedAt", "findings" })
    public record IndexView(
            @Schema(required = true) String database,
            @Schema(required = true) String schema,
            @Schema(required = true) String table,
            @Schema(required = true) String name,
            @Schema(required = true, description = "Access method", examples = "btree") String method,
            @Schema(required = true, description = "Indexed columns, in order; empty for expression-only indexes")
            List<String> columns,
            @Schema(nullable = true, description = "Indexed expressions; null when none") String expressions,
            @Schema(nullable = true, description = "WHERE clause of a partial index; null when none") String predicate,
            @Schema(required = true) boolean unique,
            @Schema(required = true) boolean primary,
            @Schema(required = true) boolean exclusion,
            @Schema(required = true, description = "true when it backs a constraint (unique, primary key, exclusion)")
            boolean backsConstraint,
            @Schema(required = true, description = "false for an index left invalid (failed CREATE INDEX CONCURRENTLY)")
            boolean valid,
            @Schema(required = true, description = "relpages × block size, in bytes") long sizeBytes,
            @Schema(required = true, description = "Index scans (idx_scan)") long scans,
            @Schema(required = true, description = "Index entries returned (idx_tup_read)") long tuplesRead,
            @Schema(required = true, description = "Live rows fetched through it (idx_tup_fetch)") long tuplesFetched,
            @Schema(required = true, description = "Index blocks found in shared buffers") long blocksHit,
            @Schema(required = true, description = "Index blocks read from the OS") long blocksRead,
            @Schema(nullable = true, description = "last_idx_scan (PostgreSQL 16+, ISO-8601, UTC); null when unknown")
            Instant lastScanAt,
            @Schema(required = true, description = "Since when no scan has been seen: lastScanAt where known, else the "
                    + "first visit that saw the index or the last reset of its counters (ISO-8601, UTC)")
            Instant idleStartedAt,
            @Schema(required = true, description = "When these numbers were read (ISO-8601, UTC)") Instant visitedAt,
            @Schema(required = true, description = "Open findings it is part of") List<Ref> findings) {
    }

    /**
     * One table. The {@code interval*} fields cover the time between its database's last two visits
     * and are null before the second visit.
     */
    @Schema(name = "Table", description = "One table, cumulative counters as of its database's latest visit; the "
            + "interval* fields cover the time between its database's last two visits and are null before the second")
    @JsonPropertyOrder({ "database", "schema", "name", "sizeBytes", "liveRows", "seqScans", "seqRowsRead", "indexScans",
            "writes", "lastSeqScanAt", "deadRows", "lastVacuumAt", "lastAutovacuumAt", "xidAge", "mxidAge",
            "intervalSeconds", "intervalSeqScans", "intervalSeqRowsRead", "intervalIndexScans", "visitedAt",
            "findings" })
    public record TableView(
            @Schema(required = true) String database,
            @Schema(required = true) String schema,
            @Schema(required = true) String name,
            @Schema(required = true, description = "relpages × block size, in bytes") long sizeBytes,
            @Schema(required = true, description = "n_live_tup") long liveRows,
            @Schema(required = true, description = "Sequential scans (seq_scan)") long seqScans,
            @Schema(required = true, description = "Rows read by sequential scans (seq_tup_read)") long seqRowsRead,
            @Schema(required = true, description = "Scans of all its indexes, summed") long indexScans,
            @Schema(required = true, description = "Rows inserted, updated and deleted") long writes,
            @Schema(nullable = true, description = "last_seq_scan (PostgreSQL 16+, ISO-8601, UTC); null when unknown")
            Instant lastSeqScanAt,
            @Schema(required = true, description = "Dead rows not yet removed by VACUUM (n_dead_tup)") long deadRows,
            @Schema(nullable = true, description = "Last manual VACUUM (ISO-8601, UTC); null if none since the "
                    + "statistics began") Instant lastVacuumAt,
            @Schema(nullable = true, description = "Last autovacuum (ISO-8601, UTC); null if none since the statistics "
                    + "began") Instant lastAutovacuumAt,
            @Schema(required = true, description = "age(relfrozenxid), the older of the table's and its TOAST table's")
            long xidAge,
            @Schema(required = true, description = "mxid_age(relminmxid), the older of the table's and its TOAST "
                    + "table's") long mxidAge,
            @Schema(nullable = true, description = "Time between the last two visits, in seconds; null before the "
                    + "second visit") Double intervalSeconds,
            @Schema(nullable = true, description = "Sequential scans between the last two visits; null before the "
                    + "second") Long intervalSeqScans,
            @Schema(nullable = true, description = "Rows read by those scans; null before the second visit")
            Long intervalSeqRowsRead,
            @Schema(nullable = true, description = "Index scans between the last two visits; null before the second")
            Long intervalIndexScans,
            @Schema(required = true, description = "When these numbers were read (ISO-8601, UTC)") Instant visitedAt,
            @Schema(required = true, description = "Open findings it is part of") List<Ref> findings) {
    }

    @GET
    @Path("/indexes")
    @Tag(name = "relations")
    @Operation(summary = "Every index of the visited databases",
            description = "As of each database's latest visit (pgvigil.indexes.interval), with the findings each is "
                    + "part of. 503 before the first visit, while the target is down, with visits off or when none "
                    + "succeeded.")
    @APIResponse(responseCode = "200", description = "The indexes")
    @APIResponse(responseCode = "400", ref = OpenApiDocument.BAD_PARAMETER)
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    @APIResponse(responseCode = "503", ref = OpenApiDocument.NO_DATA)
    public IndexList indexes(
            @Parameter(description = "Only this database (one pgvigil visits; 400 otherwise)") @QueryParam("database")
            String database,
            @Parameter(description = "true: only indexes that are part of an open finding", schema = @Schema(
                    type = SchemaType.BOOLEAN, defaultValue = "false")) @QueryParam("findings")
            @DefaultValue("false") String onlyFindings,
            @Parameter(description = "Most indexes listed", schema = @Schema(type = SchemaType.INTEGER, minimum = "1",
                    maximum = "" + MAX_LIMIT, defaultValue = "1000")) @QueryParam("limit") @DefaultValue("1000")
            String limit) {
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        boolean only = BadParameter.flag("findings", onlyFindings);
        PollState state = latest.get();
        List<DatabaseState> databases = databases(state, database);
        Map<String, List<Ref>> refs = RelationFindings.bySubject(state, RelationFindings.INDEX_CHECKS);
        List<IndexView> views = new ArrayList<>();
        for (DatabaseState db : databases) {
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
        return new IndexList(cut(views, n), views.size(), views.size() > n, oldest(databases),
                databaseViews(state, databases));
    }

    @GET
    @Path("/tables")
    @Tag(name = "relations")
    @Operation(summary = "Every table of the visited databases",
            description = "As of each database's latest visit: size, live rows, scans (cumulative and between the last "
                    + "two visits), writes, dead rows, last (auto)vacuum, freeze ages and the findings each is part of. "
                    + "503 as for /api/v1/indexes.")
    @APIResponse(responseCode = "200", description = "The tables")
    @APIResponse(responseCode = "400", ref = OpenApiDocument.BAD_PARAMETER)
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    @APIResponse(responseCode = "503", ref = OpenApiDocument.NO_DATA)
    public TableList tables(
            @Parameter(description = "Only this database (one pgvigil visits; 400 otherwise)") @QueryParam("database")
            String database,
            @Parameter(description = "true: only tables that are part of an open finding", schema = @Schema(
                    type = SchemaType.BOOLEAN, defaultValue = "false")) @QueryParam("findings")
            @DefaultValue("false") String onlyFindings,
            @Parameter(description = "Most tables listed", schema = @Schema(type = SchemaType.INTEGER, minimum = "1",
                    maximum = "" + MAX_LIMIT, defaultValue = "1000")) @QueryParam("limit") @DefaultValue("1000")
            String limit) {
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        boolean only = BadParameter.flag("findings", onlyFindings);
        PollState state = latest.get();
        List<DatabaseState> databases = databases(state, database);
        Map<String, List<Ref>> refs = RelationFindings.bySubject(state, RelationFindings.TABLE_CHECKS);
        List<TableView> views = new ArrayList<>();
        for (DatabaseState db : databases) {
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
                        instant(t.lastSeqScanSeconds()), t.deadRows(), instant(t.lastVacuumSeconds()),
                        instant(t.lastAutovacuumSeconds()), t.xidAge(), t.mxidAge(), d == null ? null : db.window().seconds(),
                        d == null ? null : d.seqScans(), d == null ? null : d.seqRowsRead(),
                        d == null ? null : d.idxScans(), db.at(), found));
            }
        }
        views.sort(Comparator.comparing(TableView::database).thenComparing(TableView::schema)
                .thenComparing(TableView::name));
        return new TableList(cut(views, n), views.size(), views.size() > n, oldest(databases),
                databaseViews(state, databases));
    }

    /**
     * The databases to answer from, in name order, or the 503 (or, for a {@code database} pgvigil
     * does not visit, the 400) that says why there are none.
     */
    private List<DatabaseState> databases(PollState state, String database) {
        NoData.requireTarget(state, config.interval());
        if (!config.indexes().enabled()) {
            throw NoData.collectorOff(VISITS, "database visits are off (pgvigil.indexes.enabled=false)");
        }
        Relations relations = state.snapshot().get(Relations.class).orElse(Relations.NONE);
        if (relations.visits().isEmpty()) {
            throw NoData.collectorOff(VISITS, "no database is visited: none that accepts connections matches "
                    + "pgvigil.databases.include and .exclude");
        }
        Map<String, Visit> visits = new HashMap<>();
        relations.visits().forEach(v -> visits.put(v.datname(), v));
        if (database != null) {
            DatabaseState db = relations.databases().get(database);
            if (db != null) {
                return List.of(db);
            }
            Visit visit = visits.get(database);
            if (visit == null) {
                throw BadParameter.of("database", database, "database='" + database + "' is not a database pgvigil "
                        + "visits (/api/v1/status lists them under databases)");
            }
            throw NoData.collectorFailed(VISITS, "database " + database + " has not been visited successfully yet",
                    visit.error(), config.interval());
        }
        if (relations.databases().isEmpty()) {
            StringBuilder errors = new StringBuilder();
            relations.visits().forEach(v -> errors.append(errors.length() == 0 ? "" : "; ").append(v.datname())
                    .append(": ").append(v.error()));
            throw NoData.collectorFailed(VISITS, "no database has been visited successfully yet", errors.toString(),
                    config.interval());
        }
        return relations.databases().values().stream().sorted(Comparator.comparing(DatabaseState::datname)).toList();
    }

    private static List<DatabaseView> databaseViews(PollState state, List<DatabaseState> databases) {
        Map<String, Visit> visits = new HashMap<>();
        state.snapshot().get(Relations.class).orElse(Relations.NONE).visits().forEach(v -> visits.put(v.datname(), v));
        Function<DatabaseState, String> error = db -> db.fresh() || !visits.containsKey(db.datname()) ? null
                : visits.get(db.datname()).error();
        return databases.stream().map(db -> new DatabaseView(db.datname(), db.at(), db.fresh(), error.apply(db)))
                .toList();
    }

    private static Instant oldest(List<DatabaseState> databases) {
        return databases.stream().map(DatabaseState::at).min(Comparator.naturalOrder()).orElseThrow();
    }

    private static <T> List<T> cut(List<T> views, int n) {
        return views.size() > n ? views.subList(0, n) : views;
    }

    private static Instant instant(Double epochSeconds) {
        return epochSeconds == null ? null : Instant.ofEpochMilli((long) (epochSeconds * 1000));
    }
}
