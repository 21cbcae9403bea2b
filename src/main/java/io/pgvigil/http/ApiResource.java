package io.pgvigil.http;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Finding;
import io.pgvigil.core.LatestState;
import io.pgvigil.core.PollState;
import io.pgvigil.relations.Relations;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.TargetConnector;

/**
 * {@code GET /api/v1/findings} (open findings, in the list envelope) and {@code GET /api/v1/status}
 * (the target, the last poll, each collector and database visit). Both only read the latest poll's
 * state; no request ever reaches the database. Field names and units follow docs/api.md.
 */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
public class ApiResource {

    @Inject
    LatestState latest;

    @Inject
    TargetConnector connector;

    @Inject
    PgvigilConfig config;

    @GET
    @Path("/findings")
    @Tag(name = "findings")
    @Operation(summary = "Open findings, most severe first",
            description = "Every open finding of the latest poll. 503 (no-poll-yet, target-down) when that poll did "
                    + "not reach the target: an empty items list always means a server that was judged and has "
                    + "nothing wrong. At most pgvigil.findings.max findings are listed (truncated, total).")
    @APIResponse(responseCode = "200", description = "The open findings of the latest poll")
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    @APIResponse(responseCode = "503", ref = OpenApiDocument.NO_DATA)
    public FindingList findings() {
        PollState state = latest.get();
        NoData.requireTarget(state, config.interval());
        Set<String> notEvaluated = new TreeSet<>(state.thresholds().keySet());
        notEvaluated.removeAll(state.evaluations().keySet());
        return new FindingList(state.findings().stream().map(FindingView::of).toList(), state.open().size(),
                state.suppressed() > 0, state.snapshot().at(), List.copyOf(notEvaluated));
    }

    @Schema(name = "FindingList", description = "The open findings of the latest poll")
    @JsonPropertyOrder({ "items", "total", "truncated", "asOf", "notEvaluated" })
    public record FindingList(
            @Schema(required = true, description = "Open findings, most severe first") List<FindingView> items,
            @Schema(required = true, description = "How many findings are open, including those left out of items "
                    + "by pgvigil.findings.max") int total,
            @Schema(required = true, description = "true when items holds fewer than total findings") boolean truncated,
            @Schema(required = true, description = "When the poll these findings are from began (ISO-8601, UTC)")
            Instant asOf,
            @Schema(required = true, description = "Enabled checks the latest poll could not judge because their "
                    + "inputs were not collected (a collector off or failed): no finding from them means nothing")
            List<String> notEvaluated) {
    }

    @Schema(name = "Finding", description = "An open breach of a check's threshold")
    @JsonPropertyOrder({ "check", "severity", "subject", "value", "threshold", "message", "since", "advice" })
    public record FindingView(
            @Schema(required = true, description = "Check id (docs/checks.md)", examples = "pool_saturation")
            String check,
            @Schema(required = true, enumeration = { "info", "warning", "critical" }) String severity,
            @Schema(required = true, description = "What the finding is about: server, a database, a queryid, "
                    + "db.schema.index, db.schema.table, a standby or a slot", examples = "server") String subject,
            @Schema(required = true, description = "The measured value, in the check's unit (docs/checks.md)")
            double value,
            @Schema(required = true, description = "The threshold of this severity, in the same unit") double threshold,
            @Schema(required = true, description = "What is wrong, in a sentence") String message,
            @Schema(required = true, description = "When the finding opened, at any severity (ISO-8601, UTC)")
            Instant since,
            @Schema(nullable = true, description = "The SQL the message proposes, as data; null when it proposes none")
            AdviceView advice) {

        static FindingView of(Finding f) {
            return new FindingView(f.check(), f.severity().label(), f.subject(), f.value(), f.threshold(), f.message(),
                    f.since(), f.advice() == null ? null : new AdviceView(f.advice().sql(), f.advice().verified(),
                            f.advice().how()));
        }
    }

    @Schema(name = "Advice", description = "What a finding proposes to run")
    @JsonPropertyOrder({ "sql", "verified", "how" })
    public record AdviceView(
            @Schema(required = true, description = "The statement to run", examples = "CREATE INDEX CONCURRENTLY ON public.orders (user_id);")
            String sql,
            @Schema(required = true, description = "true when a hypothetical index (hypopg) made the planner use it"
                    + " and at least halved the plan's cost") boolean verified,
            @Schema(required = true, description = "How it was checked, or why it was not") String how) {
    }

    @GET
    @Path("/status")
    @Tag(name = "status")
    @Operation(summary = "The target, the last poll, each collector and each database visit",
            description = "Always 200, target down or not: this is where to look when another endpoint answers 503.")
    @APIResponse(responseCode = "200", description = "pgvigil's own state")
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    public Status status() {
        PollState state = latest.get();
        ServerInfo server = state.up() ? state.snapshot().server() : null;
        Target target = new Target(connector.displayUrl(), state.up(), server == null ? null : server.version(),
                server == null ? null : server.versionNum(), server == null ? null : server.role(), state.error());
        Poll poll = new Poll(config.interval().toMillis() / 1000.0,
                state.snapshot() == null ? null : state.snapshot().at(),
                state.snapshot() == null ? null : state.durationSeconds(), state.lastSuccessAt(), state.polls(),
                state.failedPolls());
        Relations relations = state.snapshot() == null ? null : state.snapshot().get(Relations.class).orElse(null);
        return new Status(target, poll, state.collectors().stream().map(CollectorView::of).toList(),
                relations == null ? List.of() : relations.visits().stream().map(VisitView::of).toList(),
                state.findings().size() + state.suppressed(), state.suppressed());
    }

    @Schema(name = "Status", description = "pgvigil's own state: the target, the last poll, each collector and visit")
    @JsonPropertyOrder({ "target", "poll", "collectors", "databases", "findingsOpen", "findingsSuppressed" })
    public record Status(@Schema(required = true) Target target, @Schema(required = true) Poll poll,
            @Schema(required = true, description = "Each collector in the latest poll, by name")
            List<CollectorView> collectors,
            @Schema(required = true, description = "The latest visit of each database for index and table statistics; "
                    + "empty before the first and while the target is down") List<VisitView> databases,
            @Schema(required = true, description = "Open findings, including those left out by pgvigil.findings.max")
            int findingsOpen,
            @Schema(required = true, description = "Open findings left out of /api/v1/findings by pgvigil.findings.max")
            int findingsSuppressed) {
    }

    @Schema(name = "Target", description = "The PostgreSQL server pgvigil watches")
    @JsonPropertyOrder({ "url", "up", "version", "versionNum", "role", "error" })
    public record Target(
            @Schema(required = true, description = "Its JDBC URL without the query string",
                    examples = "jdbc:postgresql://localhost:5432/postgres") String url,
            @Schema(required = true, description = "Whether the latest poll reached it") boolean up,
            @Schema(nullable = true, description = "server_version; null while it cannot be reached",
                    examples = "18.1") String version,
            @Schema(nullable = true, description = "server_version_num; null while it cannot be reached",
                    examples = "180001")
            Integer versionNum,
            @Schema(nullable = true, description = "primary or standby; null while it cannot be reached") String role,
            @Schema(nullable = true, description = "Why the latest poll could not reach it; null when it could")
            String error) {
    }

    @Schema(name = "Poll", description = "pgvigil's polls of the target")
    @JsonPropertyOrder({ "intervalSeconds", "lastStartedAt", "lastDurationSeconds", "lastSuccessAt", "total",
            "failed" })
    public record Poll(
            @Schema(required = true, description = "pgvigil.interval, in seconds") double intervalSeconds,
            @Schema(nullable = true, description = "When the latest poll began (ISO-8601, UTC); null before the "
                    + "first has finished")
            Instant lastStartedAt,
            @Schema(nullable = true, description = "How long the latest poll took, in seconds; null before the "
                    + "first has finished")
            Double lastDurationSeconds,
            @Schema(nullable = true, description = "When a poll last reached the target (ISO-8601, UTC); null if "
                    + "none has")
            Instant lastSuccessAt,
            @Schema(required = true, description = "Polls since pgvigil started") long total,
            @Schema(required = true, description = "Of those, polls that could not reach the target") long failed) {
    }

    @Schema(name = "Collector", description = "How one collector fared in the latest poll")
    @JsonPropertyOrder({ "collector", "enabled", "reason", "success", "durationSeconds", "error" })
    public record CollectorView(
            @Schema(required = true, description = "The collector, named after the view it reads",
                    examples = "pg_stat_statements") String collector,
            @Schema(required = true, description = "false when it cannot run on this server (reason says why)")
            boolean enabled,
            @Schema(nullable = true, description = "Why it is off; null when enabled") String reason,
            @Schema(required = true, description = "true when it ran and returned a result") boolean success,
            @Schema(nullable = true, description = "How long its query took, in seconds; null when it did not run")
            Double durationSeconds,
            @Schema(nullable = true, description = "Why it failed; null unless it did") String error) {

        static CollectorView of(CollectorStatus c) {
            return new CollectorView(c.collector(), c.enabled(), c.reason(), c.success(), c.durationSeconds(),
                    c.error());
        }
    }

    @Schema(name = "DatabaseVisit", description = "The latest visit of one database for its index and table statistics")
    @JsonPropertyOrder({ "database", "visitedAt", "success", "durationSeconds", "indexes", "tables", "error" })
    public record VisitView(
            @Schema(required = true) String database,
            @Schema(required = true, description = "When the visit was made (ISO-8601, UTC)") Instant visitedAt,
            @Schema(required = true, description = "Whether it read the statistics") boolean success,
            @Schema(nullable = true, description = "How long it took (connect and queries), in seconds; null when "
                    + "skipped without "
                    + "trying") Double durationSeconds,
            @Schema(required = true, description = "Indexes read (0 when it failed)") int indexes,
            @Schema(required = true, description = "Tables read (0 when it failed)") int tables,
            @Schema(nullable = true, description = "Why it failed or was skipped; null on success") String error) {

        static VisitView of(Relations.Visit v) {
            return new VisitView(v.datname(), v.at(), v.success(), v.seconds(), v.indexes(), v.tables(), v.error());
        }
    }
}
