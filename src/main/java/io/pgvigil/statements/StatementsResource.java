package io.pgvigil.statements;

import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import jakarta.inject.Inject;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
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
import io.pgvigil.core.Window;
import io.pgvigil.http.BadParameter;
import io.pgvigil.http.NoData;
import io.pgvigil.http.OpenApiDocument;
import io.pgvigil.plans.Plan;
import io.pgvigil.plans.Plans;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;

/**
 * {@code GET /api/v1/statements?order=total_time|mean_time|calls|rows|temp&limit=N}: what each
 * statement did in the last poll interval, with its (redacted) text, in the list envelope. 503 when
 * there is no such interval to show: before the first poll, with the target down, with the
 * pg_stat_statements collector off or failed, or before the second poll that reached the target.
 * Reads the latest state only.
 */
@Path("/api/v1/statements")
@Produces(MediaType.APPLICATION_JSON)
public class StatementsResource {

    static final int MAX_LIMIT = 1000;

    /** Sort keys accepted by {@code order}, highest first. */
    static final Map<String, ToDoubleFunction<StatementView>> ORDERS = new LinkedHashMap<>();

    static {
        ORDERS.put("total_time", StatementView::totalExecSeconds);
        ORDERS.put("mean_time", StatementView::meanExecSeconds);
        ORDERS.put("calls", StatementView::calls);
        ORDERS.put("rows", StatementView::rows);
        ORDERS.put("temp", StatementView::tempBytes);
    }

    @Inject
    LatestState latest;

    @Inject
    PgvigilConfig config;

    @Schema(name = "StatementList", description = "What each statement did in the last poll interval")
    @JsonPropertyOrder({ "items", "total", "truncated", "asOf", "intervalSeconds", "held" })
    public record StatementList(
            @Schema(required = true, description = "Statements that ran in the interval, in the order asked for")
            List<StatementView> items,
            @Schema(required = true, description = "How many statements ran in the interval, before limit") int total,
            @Schema(required = true, description = "true when limit left some out") boolean truncated,
            @Schema(required = true, description = "When the poll that ends the interval began (ISO-8601, UTC)")
            Instant asOf,
            @Schema(required = true, description = "Length of the interval, in seconds") double intervalSeconds,
            @Schema(required = true, description = "pg_stat_statements entries left out because their counters "
                    + "cannot be trusted for this interval (reset, evicted and back)") int held) {
    }

    /**
     * One statement in the last interval.
     *
     * @param hitRatio shared blocks hit / (hit + read), null when it read no block
     */
    @Schema(name = "Statement", description = "One pg_stat_statements entry's activity in the interval")
    @JsonPropertyOrder({ "queryId", "database", "user", "topLevel", "query", "calls", "totalExecSeconds",
            "meanExecSeconds", "rows", "rowsPerCall", "hitRatio", "tempBytes" })
    public record StatementView(
            @Schema(required = true, description = "pg_stat_statements.queryid, as a string (64-bit)",
                    examples = "-6790123381424310451") String queryId,
            @Schema(nullable = true, description = "The database it ran in; null when the database was dropped")
            String database,
            @Schema(nullable = true, description = "The role that ran it; null when the role was dropped") String user,
            @Schema(required = true, description = "false for statements run inside functions (PostgreSQL 14+; "
                    + "always true on 13)") boolean topLevel,
            @Schema(nullable = true, description = "Its text, string literals masked and cut to "
                    + "pgvigil.statements.text-max-length; "
                    + "null when pg_stat_statements no longer has it") String query,
            @Schema(required = true, description = "Executions in the interval") long calls,
            @Schema(required = true, description = "Execution time of those calls, summed, in seconds")
            double totalExecSeconds,
            @Schema(required = true, description = "Mean execution time per call, in seconds") double meanExecSeconds,
            @Schema(required = true, description = "Rows returned or affected") long rows,
            @Schema(required = true, description = "rows / calls") double rowsPerCall,
            @Schema(nullable = true, description = "Shared blocks hit / (hit + read), 0-1; null when it read no "
                    + "block") Double hitRatio,
            @Schema(required = true, description = "Temporary-file bytes written (sorts and hashes that spilled)")
            long tempBytes) {
    }

    @GET
    @Tag(name = "statements")
    @Operation(summary = "What each statement did in the last poll interval",
            description = "Calls, time, rows, hit ratio and temp bytes between the last two polls, with the redacted "
                    + "text. 503 before two polls have reached the target, while it is down, or when the "
                    + "pg_stat_statements collector is off or failed.")
    @APIResponse(responseCode = "200", description = "The statements of the last interval")
    @APIResponse(responseCode = "400", ref = OpenApiDocument.BAD_PARAMETER)
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    @APIResponse(responseCode = "503", ref = OpenApiDocument.NO_DATA)
    public StatementList statements(
            @Parameter(description = "Sort key, highest first: total_time (totalExecSeconds), mean_time "
                    + "(meanExecSeconds), calls, rows, temp (tempBytes)", schema = @Schema(type = SchemaType.STRING,
                            enumeration = { "total_time", "mean_time", "calls", "rows", "temp" },
                            defaultValue = "total_time")) @QueryParam("order") @DefaultValue("total_time") String order,
            @Parameter(description = "Most statements listed", schema = @Schema(type = SchemaType.INTEGER,
                    minimum = "1", maximum = "" + MAX_LIMIT, defaultValue = "20")) @QueryParam("limit")
            @DefaultValue("20") String limit) {
        ToDoubleFunction<StatementView> key = ORDERS.get(BadParameter.oneOf("order", order, ORDERS.keySet()));
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        PollState state = latest.get();
        NoData.requireTarget(state, config.interval());
        NoData.requireCollector(state, StatStatementsCollector.KEY, config.interval());
        Statements statements = state.snapshot().get(Statements.class).orElseThrow();
        Window window = state.window();
        if (window.seconds() == 0) {
            throw NoData.noIntervalYet("statements", config.interval());
        }
        List<StatementView> all = window.statements().stream().map(d -> view(d, statements))
                .sorted(Comparator.comparingDouble(key).reversed()).toList();
        return new StatementList(all.size() > n ? all.subList(0, n) : all, all.size(), all.size() > n,
                state.snapshot().at(), window.seconds(), window.statementsHeld());
    }

    @Inject
    StatementsHour hour;

    @Schema(name = "StatementHourList", description = "What each statement did over the last hour")
    @JsonPropertyOrder({ "items", "total", "truncated", "asOf", "since", "spanSeconds", "countedSeconds", "held",
            "otherStatements", "otherCalls", "otherExecSeconds" })
    public record StatementHourList(
            @Schema(required = true, description = "Statements that ran in the hour, in the order asked for")
            List<HourStatementView> items,
            @Schema(required = true, description = "How many statements the hour holds, before limit") int total,
            @Schema(required = true, description = "true when limit left some out") boolean truncated,
            @Schema(nullable = true, description = "The latest poll (ISO-8601, UTC); null before the first")
            Instant asOf,
            @Schema(nullable = true, description = "When the first interval counted began: at most an hour before "
                    + "asOf (about 55 to 60 minutes: the intervals that began in the latest poll's 5-minute slice or "
                    + "the 11 before it), later when pgvigil has counted for less; null when nothing was counted "
                    + "yet") Instant since,
            @Schema(required = true, description = "asOf - since, in seconds; 0 when nothing was counted")
            double spanSeconds,
            @Schema(required = true, description = "Seconds of intervals whose statements were counted; less than "
                    + "spanSeconds when an interval was not: the target was down and restarted, pg_stat_statements "
                    + "was reset or could not be read") double countedSeconds,
            @Schema(required = true, description = "Entry-intervals left out because their counters could not be "
                    + "trusted (reset, evicted and back, server restart)") int held,
            @Schema(required = true, description = "Statements summed as others, once per 5-minute slice: each "
                    + "slice keeps its 100 statements with the most execution time") int otherStatements,
            @Schema(required = true, description = "Their calls") long otherCalls,
            @Schema(required = true, description = "Their execution time, in seconds") double otherExecSeconds) {
    }

    @Schema(name = "HourStatement", description = "One statement's activity over the last hour")
    @JsonPropertyOrder({ "queryId", "database", "user", "topLevel", "query", "calls", "totalExecSeconds",
            "meanExecSeconds", "rows", "rowsPerCall", "tempBytes", "inPgStatStatements" })
    public record HourStatementView(@Schema(required = true, description = "pg_stat_statements.queryid, as a string")
            String queryId, @Schema(nullable = true) String database, @Schema(nullable = true) String user,
            @Schema(required = true) boolean topLevel,
            @Schema(nullable = true, description = "Its text, literals masked, as last read; kept after it left "
                    + "pg_stat_statements") String query,
            @Schema(required = true) long calls, @Schema(required = true) double totalExecSeconds,
            @Schema(required = true) double meanExecSeconds, @Schema(required = true) long rows,
            @Schema(required = true) double rowsPerCall,
            @Schema(required = true, description = "Temporary-file bytes written") long tempBytes,
            @Schema(required = true, description = "false when the entry has left pg_stat_statements since (evicted "
                    + "or reset)") boolean inPgStatStatements) {
    }

    @GET
    @Path("/hour")
    @Tag(name = "statements")
    @Operation(summary = "What each statement did over the last hour",
            description = "The sums of the per-interval deltas over the last hour (the intervals that began in "
                    + "the latest poll's 5-minute slice or the 11 before it: at most 60 minutes, about 55 to 60; "
                    + "since says from when), held in memory of a fixed size. A reset or an eviction costs "
                    + "the interval it happened in (held), never a wrong number; a statement that left "
                    + "pg_stat_statements stays, with its text, until its hour is over. Always 200.")
    @APIResponse(responseCode = "200", description = "The statements of the hour")
    @APIResponse(responseCode = "400", ref = OpenApiDocument.BAD_PARAMETER)
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    public StatementHourList lastHour(
            @Parameter(description = "Sort key, highest first, as for /api/v1/statements", schema = @Schema(
                    type = SchemaType.STRING, enumeration = { "total_time", "mean_time", "calls", "rows", "temp" },
                    defaultValue = "total_time")) @QueryParam("order") @DefaultValue("total_time") String order,
            @Parameter(description = "Most statements listed", schema = @Schema(type = SchemaType.INTEGER,
                    minimum = "1", maximum = "" + MAX_LIMIT, defaultValue = "20")) @QueryParam("limit")
            @DefaultValue("20") String limit) {
        String o = BadParameter.oneOf("order", order, ORDERS.keySet());
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        ToDoubleFunction<HourStatementView> key = switch (o) {
            case "mean_time" -> HourStatementView::meanExecSeconds;
            case "calls" -> HourStatementView::calls;
            case "rows" -> HourStatementView::rows;
            case "temp" -> HourStatementView::tempBytes;
            default -> HourStatementView::totalExecSeconds;
        };
        // The hour's own record of the latest poll: the latest state may be a poll older or newer than it.
        StatementsHour.View v = hour.view();
        List<HourStatementView> all = v.items().stream().map(i -> new HourStatementView(
                Long.toString(i.key().queryid()), i.database(), i.user(), i.key().toplevel(), i.text(), i.calls(),
                i.execSeconds(), i.calls() == 0 ? 0 : i.execSeconds() / i.calls(), i.rows(),
                i.calls() == 0 ? 0 : (double) i.rows() / i.calls(), i.tempBytes(), i.inPgStatStatements()))
                .sorted(Comparator.comparingDouble(key).reversed()).toList();
        double span = v.since() == null ? 0 : java.time.Duration.between(v.since(), v.asOf()).toMillis() / 1000.0;
        return new StatementHourList(all.size() > n ? all.subList(0, n) : all, all.size(), all.size() > n, v.asOf(),
                v.since(), span, v.countedSeconds(), v.held(), v.otherStatements(), v.otherCalls(),
                v.otherExecSeconds());
    }

    @Schema(name = "StatementDetail", description = "One statement: its pg_stat_statements entries (one per database"
            + " and role), its latest generic plan in each database, and the index advice drawn from it")
    @JsonPropertyOrder({ "queryId", "asOf", "entries", "plansEnabled", "plansProblem", "plans", "planFailures" })
    public record StatementDetail(
            @Schema(required = true, description = "pg_stat_statements.queryid, as a string (64-bit)") String queryId,
            @Schema(required = true, description = "When the poll these numbers are from began (ISO-8601, UTC)")
            Instant asOf,
            @Schema(required = true, description = "Its entries, cumulative since each entry was created or reset")
            List<EntryView> entries,
            @Schema(required = true, description = "pgvigil.plans.enabled") boolean plansEnabled,
            @Schema(nullable = true, description = "What stops plans in general (a missing privilege), null when "
                    + "nothing does") String plansProblem,
            @Schema(required = true, description = "Its latest plan in each database it was planned in") List<PlanView> plans,
            @Schema(required = true, description = "Databases where its latest try to plan it failed, and why")
            List<PlanFailureView> planFailures) {
    }

    @Schema(name = "StatementEntry", description = "One pg_stat_statements entry of the statement, cumulative")
    @JsonPropertyOrder({ "database", "user", "topLevel", "query", "calls", "totalExecSeconds", "meanExecSeconds", "rows" })
    public record EntryView(@Schema(nullable = true) String database, @Schema(nullable = true) String user,
            @Schema(required = true) boolean topLevel,
            @Schema(nullable = true, description = "Its text, string literals masked") String query,
            @Schema(required = true) long calls, @Schema(required = true) double totalExecSeconds,
            @Schema(required = true) double meanExecSeconds, @Schema(required = true) long rows) {
    }

    @Schema(name = "Plan", description = "A generic plan, obtained without executing the statement")
    @JsonPropertyOrder({ "database", "obtainedAt", "method", "searchPath", "shape", "text", "plan", "indexAdvice" })
    public record PlanView(@Schema(required = true) String database,
            @Schema(required = true, description = "When pgvigil planned it") Instant obtainedAt,
            @Schema(required = true, description = "EXPLAIN (GENERIC_PLAN) on 16+, PREPARE + plan_cache_mode = "
                    + "force_generic_plan before") String method,
            @Schema(required = true, description = "The search_path it was planned under") String searchPath,
            @Schema(required = true, description = "Node types, relations and indexes, without costs") String shape,
            @Schema(required = true, description = "The plan as indented text") String text,
            @Schema(required = true, description = "EXPLAIN (VERBOSE, FORMAT JSON) as the server gave it")
            com.fasterxml.jackson.databind.JsonNode plan,
            @Schema(required = true, description = "For each sequential scan with a filter: the index proposed, or why "
                    + "none is") List<IndexAdviceView> indexAdvice) {
    }

    @Schema(name = "IndexAdvice", description = "The index a sequential scan would need, or why none is proposed")
    @JsonPropertyOrder({ "table", "filter", "sql", "verified", "how", "reason" })
    public record IndexAdviceView(@Schema(required = true) String table, @Schema(nullable = true) String filter,
            @Schema(nullable = true, description = "CREATE INDEX CONCURRENTLY ..., null when none is proposed") String sql,
            @Schema(required = true, description = "true when a hypothetical index (hypopg) was used by the planner "
                    + "and at least halved the plan's cost") boolean verified,
            @Schema(required = true, description = "How it was checked, or why not") String how,
            @Schema(nullable = true, description = "Why no index is proposed, null when one is") String reason) {
    }

    @Schema(name = "PlanFailure", description = "Why the statement could not be planned in a database")
    @JsonPropertyOrder({ "database", "at", "reason" })
    public record PlanFailureView(@Schema(required = true) String database, @Schema(required = true) Instant at,
            @Schema(required = true) String reason) {
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    @GET
    @Path("/{queryid}")
    @Tag(name = "statements")
    @Operation(summary = "One statement, with its generic plan and index advice",
            description = "Its pg_stat_statements entries and, where pgvigil.plans.enabled is on and a finding pointed "
                    + "at it, its latest generic plan in each database (never executed) with the index advice drawn "
                    + "from it. 404 when neither pg_stat_statements nor the plans know the queryid.")
    @APIResponse(responseCode = "200", description = "The statement")
    @APIResponse(responseCode = "400", ref = OpenApiDocument.BAD_PARAMETER)
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "404", ref = OpenApiDocument.NOT_FOUND)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    @APIResponse(responseCode = "503", ref = OpenApiDocument.NO_DATA)
    public StatementDetail statement(@Parameter(description = "pg_stat_statements.queryid (64-bit, signed)")
            @PathParam("queryid") String queryid) {
        long id;
        try {
            id = Long.parseLong(queryid);
        } catch (NumberFormatException e) {
            throw BadParameter.of("queryid", queryid, "queryid='" + queryid + "' must be a pg_stat_statements queryid"
                    + " (a 64-bit whole number)");
        }
        PollState state = latest.get();
        NoData.requireTarget(state, config.interval());
        NoData.requireCollector(state, StatStatementsCollector.KEY, config.interval());
        Statements statements = state.snapshot().get(Statements.class).orElseThrow();
        Plans plans = state.snapshot().get(Plans.class).orElse(Plans.OFF);
        List<EntryView> entries = statements.entries().stream().filter(s -> s.queryid() == id)
                .map(s -> new EntryView(s.datname(), s.user(), s.toplevel(), s.text(), s.calls(), s.execSeconds(),
                        s.calls() == 0 ? 0 : s.execSeconds() / s.calls(), s.rows())).toList();
        List<PlanView> planViews = plans.plans().stream().filter(p -> p.queryid() == id).map(StatementsResource::view)
                .toList();
        List<PlanFailureView> failures = plans.failures().stream().filter(f -> f.queryid() == id)
                .map(f -> new PlanFailureView(f.datname(), f.at(), f.reason())).toList();
        if (entries.isEmpty() && planViews.isEmpty() && failures.isEmpty()) {
            throw io.pgvigil.http.Problem.of(404, "pg_stat_statements has no statement with queryid " + id
                    + " (it may have been evicted or reset), and pgvigil has no plan of it").exception();
        }
        return new StatementDetail(Long.toString(id), state.snapshot().at(), entries, plans.enabled(), plans.problem(),
                planViews, failures);
    }

    private static PlanView view(Plan p) {
        com.fasterxml.jackson.databind.JsonNode json;
        try {
            json = JSON.readTree(p.json());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            json = null;
        }
        return new PlanView(p.datname(), p.obtainedAt(), p.method(), p.searchPath(), p.shape(), p.text(), json,
                p.proposals().stream().map(a -> new IndexAdviceView(
                        io.pgvigil.relations.RelationSubjects.qualified(a.schema(), a.table()), a.filter(), a.sql(),
                        a.verified(), a.how(), a.reason())).toList());
    }

    private static StatementView view(Window.StatementDelta d, Statements statements) {
        Statement s = d.statement();
        long blocks = d.sharedBlksHit() + d.sharedBlksRead();
        return new StatementView(Long.toString(s.queryid()), s.datname(), s.user(), s.toplevel(),
                s.text(), d.calls(), d.execSeconds(), d.meanSeconds(), d.rows(),
                (double) d.rows() / d.calls(), blocks == 0 ? null : (double) d.sharedBlksHit() / blocks,
                d.tempBlksWritten() * statements.blockSize());
    }
}
