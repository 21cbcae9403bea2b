package io.pgvigil.http;

import java.time.Instant;
import java.util.List;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.pgvigil.core.Finding;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.LatestState;
import io.pgvigil.core.PollState;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.TargetConnector;
import io.pgvigil.relations.Relations;

/** The REST API. It only reads the latest poll's state; no request ever reaches the database. */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
public class ApiResource {

    @Inject
    LatestState latest;

    @Inject
    TargetConnector connector;

    @Inject
    PgvigilConfig config;

    /** Open findings, most severe first. */
    @GET
    @Path("/findings")
    public List<Finding> findings() {
        return latest.get().findings();
    }

    /** The target, the last poll and each collector. */
    @GET
    @Path("/status")
    public Status status() {
        PollState state = latest.get();
        ServerInfo server = state.up() ? state.snapshot().server() : null;
        Target target = new Target(connector.displayUrl(), state.up(), server == null ? null : server.version(),
                server == null ? null : server.versionNum(), server == null ? null : server.role(), state.error());
        Poll poll = new Poll(config.interval().toMillis() / 1000.0,
                state.snapshot() == null ? null : state.snapshot().at(), state.durationSeconds(), state.lastSuccessAt(),
                state.polls(), state.failedPolls());
        Relations relations = state.snapshot() == null ? null : state.snapshot().get(Relations.class).orElse(null);
        return new Status(target, poll, state.collectors(), relations == null ? List.of() : relations.visits(),
                state.findings().size() + state.suppressed(), state.suppressed());
    }

    /**
     * @param databases          the latest visit of each database for index and table statistics
     * @param findingsOpen       open findings, including those left out by {@code pgvigil.findings.max}
     * @param findingsSuppressed open findings left out of /api/v1/findings by that cap
     */
    public record Status(Target target, Poll poll, List<CollectorStatus> collectors, List<Relations.Visit> databases,
            int findingsOpen,
            int findingsSuppressed) {
    }

    /**
     * @param url   the target's JDBC URL without its query string
     * @param role  "primary" or "standby", null while the target cannot be reached
     * @param error why the last poll could not reach the target, null when it could
     */
    public record Target(String url, boolean up, String version, Integer versionNum, String role, String error) {
    }

    /**
     * @param lastAt        when the last poll began, null before the first
     * @param lastSuccessAt when a poll last reached the target
     */
    public record Poll(double intervalSeconds, Instant lastAt, double lastDurationSeconds, Instant lastSuccessAt,
            long total, long failed) {
    }
}
