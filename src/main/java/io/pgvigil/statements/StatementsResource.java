package io.pgvigil.statements;

import java.util.Comparator;
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

import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.core.LatestState;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Window;
import io.pgvigil.http.BadParameter;

/**
 * {@code GET /api/v1/statements?order=total_time|mean_time|calls|rows|temp&limit=N}: what each
 * statement did in the last poll interval, with its (redacted) text. Reads the latest state only.
 */
@Path("/api/v1/statements")
@Produces(MediaType.APPLICATION_JSON)
public class StatementsResource {

    static final int MAX_LIMIT = 1000;

    /** Sort keys accepted by {@code order}, highest first. */
    static final Map<String, ToDoubleFunction<StatementView>> ORDERS = Map.of(
            "total_time", StatementView::totalTimeSeconds,
            "mean_time", StatementView::meanTimeSeconds,
            "calls", v -> v.calls(),
            "rows", v -> v.rows(),
            "temp", v -> v.tempBytes());

    @Inject
    LatestState latest;

    /**
     * One statement in the last interval.
     *
     * @param hitRatio shared blocks hit / (hit + read), null when it read no block
     */
    public record StatementView(String queryid, String datname, String user, boolean toplevel, String query,
            long calls, double totalTimeSeconds, double meanTimeSeconds, long rows, double rowsPerCall,
            Double hitRatio, long tempBytes) {
    }

    @GET
    public List<StatementView> statements(@QueryParam("order") @DefaultValue("total_time") String order,
            @QueryParam("limit") @DefaultValue("20") String limit) {
        ToDoubleFunction<StatementView> key = ORDERS.get(order);
        if (key == null) {
            throw BadParameter.of("order='" + order + "' is not one of total_time, mean_time, calls, rows, temp");
        }
        int n = BadParameter.limit("limit", limit, MAX_LIMIT);
        PollState state = latest.get();
        Statements statements = state.snapshot() == null ? null : state.snapshot().get(Statements.class).orElse(null);
        if (statements == null) {
            return List.of();
        }
        return state.window().statements().stream().map(d -> view(d, statements))
                .sorted(Comparator.comparingDouble(key).reversed()).limit(n).toList();
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
