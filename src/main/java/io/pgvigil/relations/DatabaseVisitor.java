package io.pgvigil.relations;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.pgvigil.relations.RelationsCollector;
import io.pgvigil.relations.RelationsCollector.DatabaseRelations;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.Session;
import io.pgvigil.target.TargetConnector;
import io.pgvigil.relations.RelationHistory;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.Visit;
import io.pgvigil.core.Monitor;
import io.pgvigil.plans.Planner;
import io.pgvigil.plans.Plans;

/**
 * Visits every database of the server, one at a time, for its index and table statistics (which
 * PostgreSQL only shows to a session connected to that database). Runs from the poll, after the
 * poll's own transaction, once every {@code pgvigil.indexes.interval}. The database the main
 * session is connected to is read on that session; every other one through one short visit session
 * ({@link TargetConnector#openVisit}), closed before the next is opened. A database that cannot be
 * visited is reported in its {@link Visit} and skipped; the others are still visited.
 */
@ApplicationScoped
public class DatabaseVisitor {

    private static final Logger LOG = Logger.getLogger(DatabaseVisitor.class);

    static final String DISCOVER_SQL = """
            SELECT datname,
                   has_database_privilege(oid, 'CONNECT') AS can_connect,
                   datname = current_database() AS is_current
              FROM pg_database
             WHERE datallowconn AND NOT datistemplate
             ORDER BY datname
            """;

    /** A database discovery found and the configuration includes. */
    private record Discovered(String datname, boolean canConnect, boolean current) {
    }

    private final TargetConnector connector;
    private final boolean enabled;
    private final java.time.Duration interval;
    private final List<Pattern> include;
    private final List<Pattern> exclude;
    private final RelationHistory history = new RelationHistory();
    /** One collector per database: each caches the column names of its database's indexes. */
    private final Map<String, RelationsCollector> collectors = new HashMap<>();
    /** Last problem logged per database, so each is logged once. */
    private final Map<String, String> lastProblem = new HashMap<>();
    private Relations latest = Relations.NONE;
    /** When the next round is due, on the poll's clock (tests advance it instead of sleeping). */
    private Instant nextDue;
    private boolean due = true;
    /** The round's start: its poll time and the monotonic tick it began at, for each visit's own time. */
    private Instant roundAt;
    private long roundTick;

    private final Planner planner;

    public DatabaseVisitor(TargetConnector connector, PgvigilConfig config) {
        this(connector, config, new Planner(config));
    }

    @Inject
    public DatabaseVisitor(TargetConnector connector, PgvigilConfig config, Planner planner) {
        this.connector = connector;
        this.planner = planner;
        this.enabled = config.indexes().enabled();
        this.interval = config.indexes().interval();
        this.include = config.databases().include().stream().map(DatabaseVisitor::glob).toList();
        this.exclude = config.databases().exclude().orElse(List.of()).stream().map(DatabaseVisitor::glob).toList();
    }

    /**
     * Visits every database when a round is due and returns the latest state (the previous round's
     * between rounds). {@code main} is the poll's session, between transactions.
     *
     * @throws SQLException only when the main session fails (the poll then treats the target as down)
     */
    public Relations visitIfDue(Session main, ServerInfo server, Instant now) throws SQLException {
        if (!enabled) {
            return Relations.NONE;
        }
        if (!due && now.isBefore(nextDue)) {
            return latest;
        }
        due = false;
        nextDue = now.plus(interval);
        roundAt = now;
        roundTick = System.nanoTime();
        List<Visit> visits = new ArrayList<>();
        Connection connection = main.connection();
        Set<String> present = new LinkedHashSet<>();
        List<Discovered> databases = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(DISCOVER_SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                String datname = rs.getString("datname");
                if (included(datname)) {
                    present.add(datname);
                    databases.add(new Discovered(datname, rs.getBoolean("can_connect"), rs.getBoolean("is_current")));
                }
            }
        }
        connection.commit();
        planner.fetchTexts(connection, server, now);
        history.retain(present);
        lastProblem.keySet().retainAll(present);
        collectors.keySet().retainAll(present);
        for (Discovered db : databases) {
            visits.add(visit(db.datname(), db.canConnect(), db.current(), main, server));
        }
        latest = history.relations(visits);
        return latest;
    }

    private Visit visit(String datname, boolean canConnect, boolean current, Session main, ServerInfo server)
            throws SQLException {
        // The poll's time plus what the round has taken so far: the databases of a round are read one after another.
        Instant at = roundAt.plusNanos(System.nanoTime() - roundTick);
        if (!canConnect) {
            return failed(datname, at, null, "pgvigil's role has no CONNECT privilege on database " + datname
                    + " (GRANT CONNECT ON DATABASE ... TO it, or exclude it with pgvigil.databases.exclude)");
        }
        long start = System.nanoTime();
        RelationsCollector collector = collectors.computeIfAbsent(datname, k -> new RelationsCollector());
        DatabaseRelations relations;
        if (current) {
            // The main session's own database: no extra connection. A failure here is the main
            // session's and fails the poll, as any other failure of that session does.
            Connection connection = main.connection();
            try {
                relations = collector.collect(connection, server.versionNum(), server.blockSize());
                connection.commit();
                plan(datname, connection, server, at, relations);
            } catch (SQLException | RuntimeException e) {
                // A failure of this visit's reading (a RuntimeException: data it could not make sense of)
                // fails this visit, not the poll.
                connection.rollback();
                return failed(datname, at, seconds(start), Monitor.describe(e));
            }
        } else {
            try (Session visit = connector.openVisit(datname)) {
                Connection connection = visit.connection();
                relations = collector.collect(connection, server.versionNum(), server.blockSize());
                connection.commit();
                plan(datname, connection, server, at, relations);
            } catch (SQLException | RuntimeException e) {
                return failed(datname, at, seconds(start), Monitor.describe(e));
            }
        }
        history.visited(datname, at, relations);
        if (lastProblem.remove(datname) != null) {
            LOG.infof("database %s is visited again", datname);
        }
        return new Visit(datname, at, true, seconds(start), relations.indexes().size(), relations.tables().size(), null);
    }

    private Visit failed(String datname, Instant at, Double seconds, String problem) {
        history.failed(datname);
        if (!problem.equals(lastProblem.put(datname, problem))) {
            LOG.warnf("database %s cannot be visited for index and table statistics, skipping it: %s", datname, problem);
        }
        return new Visit(datname, at, false, seconds, 0, 0, problem);
    }

    /**
     * Plans the due statements of the database just visited, on the same session. A failure of the
     * session here is logged and leaves the visit's statistics standing; the transaction is rolled back.
     */
    private void plan(String datname, Connection connection, ServerInfo server, Instant at, DatabaseRelations relations) {
        try {
            planner.planIn(datname, connection, server, at, relations);
        } catch (SQLException | RuntimeException e) {
            LOG.warnf("plans in database %s stopped: %s", datname, Monitor.describe(e));
            try {
                connection.rollback();
            } catch (SQLException ignored) {
                // the session is gone; the next poll reconnects
            }
        }
    }

    /** The plans obtained so far, for the poll's snapshot. */
    public Plans plans() {
        return planner.latest();
    }

    /** After a poll's checks: which statements the next round plans. */
    public void choosePlans(io.pgvigil.core.Snapshot snapshot, io.pgvigil.core.Window window,
            List<io.pgvigil.core.Finding> open) {
        planner.choose(snapshot, window, open);
    }

    private boolean included(String datname) {
        return include.stream().anyMatch(p -> p.matcher(datname).matches())
                && exclude.stream().noneMatch(p -> p.matcher(datname).matches());
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** A pattern with {@code *} (any characters) and {@code ?} (one character), matching the whole name. */
    static Pattern glob(String pattern) {
        StringBuilder regex = new StringBuilder();
        for (String part : pattern.trim().split("(?<=[*?])|(?=[*?])")) {
            switch (part) {
                case "*" -> regex.append(".*");
                case "?" -> regex.append('.');
                default -> regex.append(Pattern.quote(part));
            }
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }
}
