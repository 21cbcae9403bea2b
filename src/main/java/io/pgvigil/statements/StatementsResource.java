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

    private static StatementView view(Window.StatementDelta d, Statements statements) {
        Statement s = d.statement();
        long blocks = d.sharedBlksHit() + d.sharedBlksRead();
        return new StatementView(Long.toString(s.queryid()), s.datname(), s.user(), s.toplevel(),
                s.text(), d.calls(), d.execSeconds(), d.meanSeconds(), d.rows(),
                (double) d.rows() / d.calls(), blocks == 0 ? null : (double) d.sharedBlksHit() / blocks,
                d.tempBlksWritten() * statements.blockSize());
    }
}
