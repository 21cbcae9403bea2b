package io.pgvigil.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.FindingTracker;
import io.pgvigil.core.Collector;
import io.pgvigil.core.Snapshot;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.Session;
import io.pgvigil.target.TargetConnector;
import io.pgvigil.relations.Relations;
import io.pgvigil.core.Window;
import io.quarkus.arc.All;
import io.pgvigil.relations.DatabaseVisitor;
import io.pgvigil.pgbouncer.PgBouncerPoller;
import io.pgvigil.pgbouncer.Poolers;

/**
 * One poll, start to end: collect → window → check. Keeps one session open between polls and
 * reopens it after a failure; runs every collector in one read-only transaction, each under a
 * savepoint; when due, visits every database for its index and table statistics
 * ({@link DatabaseVisitor}); derives the window from the last snapshot that reached the target;
 * evaluates every enabled check. A configured PgBouncer is read in the same poll on its own console
 * connection ({@link PgBouncerPoller}), whether or not PostgreSQL answers, and the other way round; its
 * result is in the snapshot, also in one that could not reach PostgreSQL.
 * {@link #poll()} never throws: whatever fails is logged once and reported in the
 * returned state.
 */
@ApplicationScoped
public class Monitor {

    private static final Logger LOG = Logger.getLogger(Monitor.class);

    private final List<Collector<?>> collectors;
    private final List<Check> checks;
    private final TargetConnector connector;
    private final DatabaseVisitor visitor;
    private final PgBouncerPoller pgbouncer;
    private final int maxFindings;
    private final FindingTracker tracker = new FindingTracker();
    /** Last problem logged per collector (or per check, or "target"), so each is logged once. */
    private final Map<String, String> lastProblem = new HashMap<>();

    /** The time of each poll: the system clock, or in tests a clock they move forward instead of sleeping. */
    private final Clock clock;
    private Session session;
    private Snapshot lastUp;
    private Instant lastSuccessAt;
    private long polls;
    private long failedPolls;

    @Inject
    public Monitor(@All List<Collector<?>> collectors, @All List<Check> checks, TargetConnector connector,
            DatabaseVisitor visitor, PgBouncerPoller pgbouncer, PgvigilConfig config, Clock clock) {
        this.collectors = collectors.stream().sorted(Comparator.comparing(Collector::key)).toList();
        this.checks = checks.stream().sorted(Comparator.comparing(Check::id)).toList();
        this.connector = connector;
        this.visitor = visitor;
        this.pgbouncer = pgbouncer;
        this.maxFindings = config.findings().max();
        this.clock = clock;
    }

    /** Runs one poll and returns everything it produced. */
    public synchronized PollState poll() {
        long start = System.nanoTime();
        Instant at = clock.instant();
        polls++;
        Snapshot snapshot;
        List<CollectorStatus> statuses;
        String error = null;
        try {
            Map<Class<?>, Object> results = new HashMap<>();
            statuses = new ArrayList<>();
            ServerInfo server;
            boolean reused = session != null;
            try {
                server = collect(results, statuses);
            } catch (SQLException | RuntimeException e) {
                if (!reused || !session.isClosed()) {
                    throw e;
                }
                // The session held since the last poll was ended by the server (pg_terminate_backend,
                // idle_session_timeout, a crash restart, a failover): say so once and reconnect now,
                // so that a server which answers is not reported down for a whole interval.
                LOG.infof("session to %s was ended by the server (%s); reconnecting", connector.displayUrl(),
                        describe(e));
                closeSession();
                results.clear();
                statuses.clear();
                server = collect(results, statuses);
            }
            results.put(Relations.class, visitor.visitIfDue(session, server, at));
            results.put(io.pgvigil.plans.Plans.class, visitor.plans());
            snapshot = new Snapshot(at, server, results);
            if (lastProblem.remove("target") != null) {
                LOG.infof("target %s answers again", connector.displayUrl());
            }
        } catch (SQLException | RuntimeException e) {
            closeSession();
            failedPolls++;
            error = describe(e);
            if (!error.equals(lastProblem.put("target", error))) {
                LOG.warnf("target %s cannot be polled: %s (retrying every poll)", connector.displayUrl(), error);
            }
            snapshot = Snapshot.down(at);
            statuses = collectors.stream()
                    .map(c -> new CollectorStatus(c.key(), true, null, false, null, "target unreachable")).toList();
        }
        Poolers poolers = pgbouncer.poll();
        if (!poolers.readings().isEmpty()) {
            Map<Class<?>, Object> results = new HashMap<>(snapshot.results());
            results.put(Poolers.class, poolers);
            snapshot = new Snapshot(snapshot.at(), snapshot.server(), results);
            statuses = new ArrayList<>(statuses);
            statuses.addAll(PgBouncerPoller.statuses(poolers));
        }
        Window window = Window.between(lastUp, snapshot);
        if (snapshot.up()) {
            noteRoleChange(snapshot.server());
            lastUp = snapshot;
            lastSuccessAt = at;
        }
        Map<String, List<Evaluation>> evaluations = new TreeMap<>();
        Map<String, Map<String, Double>> thresholds = new TreeMap<>();
        for (Check check : checks) {
            if (!check.enabled()) {
                continue;
            }
            Optional<List<Evaluation>> result = evaluate(check, snapshot, window);
            // After evaluating: a threshold read from the server (xmin_horizon's critical) is this poll's.
            Map<String, Double> byLabel = new TreeMap<>();
            check.thresholds().forEach((severity, value) -> byLabel.put(severity.label(), value));
            thresholds.put(check.id(), byLabel);
            if (result.isPresent()) {
                tracker.apply(check, result.get(), at);
                evaluations.put(check.id(), result.get());
            } else {
                tracker.suspend(check.id(), snapshot.up() || !check.needsTarget() ? "its inputs were not collected in this poll"
                        : "the target cannot be reached", at);
            }
        }
        List<Finding> open = tracker.open();
        if (snapshot.up()) {
            visitor.choosePlans(snapshot, window, open);
        }
        List<Finding> published = open.size() > maxFindings ? open.subList(0, maxFindings) : open;
        double seconds = (System.nanoTime() - start) / 1e9;
        return new PollState(snapshot, window, statuses, evaluations, published, open,
                thresholds, seconds, error, lastSuccessAt, polls, failedPolls);
    }

    private ServerInfo collect(Map<Class<?>, Object> results, List<CollectorStatus> statuses) throws SQLException {
        if (session == null) {
            session = connector.open();
        }
        Connection connection = session.connection();
        ServerInfo server = session.serverInfo();
        for (Collector<?> collector : collectors) {
            String key = collector.key();
            Optional<String> off = collector.unavailable(server);
            if (off.isPresent()) {
                if (!off.get().equals(lastProblem.put(key, off.get()))) {
                    LOG.infof("collector %s is off: %s", key, off.get());
                }
                statuses.add(new CollectorStatus(key, false, off.get(), false, null, null));
                continue;
            }
            Savepoint savepoint = Savepoint.set(connection, "pgvigil_collector");
            long start = System.nanoTime();
            try {
                Object result = collector.collect(connection, server);
                double seconds = (System.nanoTime() - start) / 1e9;
                // Not released: COMMIT releases every savepoint at once, one round trip fewer per collector.
                results.put(collector.resultType(), result);
                statuses.add(new CollectorStatus(key, true, null, true, seconds, null));
                if (lastProblem.remove(key) != null) {
                    LOG.infof("collector %s works again", key);
                }
            } catch (SQLException | RuntimeException e) {
                double seconds = (System.nanoTime() - start) / 1e9;
                // Rolling back to the savepoint keeps the transaction usable for the other collectors.
                // If even that fails the session is gone, and the whole poll fails.
                savepoint.rollback();
                String problem = describe(e);
                if (!problem.equals(lastProblem.put(key, problem))) {
                    LOG.warnf("collector %s failed: %s", key, problem);
                }
                statuses.add(new CollectorStatus(key, true, null, false, seconds, problem));
            }
        }
        // COMMIT, not ROLLBACK: a rollback would count in pg_stat_database.xact_rollback.
        connection.commit();
        return server;
    }

    private Optional<List<Evaluation>> evaluate(Check check, Snapshot snapshot, Window window) {
        if (!snapshot.up() && check.needsTarget()) {
            return Optional.empty();
        }
        try {
            return check.evaluate(snapshot, window);
        } catch (RuntimeException e) {
            String problem = describe(e);
            if (!problem.equals(lastProblem.put("check:" + check.id(), problem))) {
                LOG.errorf(e, "check %s failed", check.id());
            }
            return Optional.empty();
        }
    }

    private void noteRoleChange(ServerInfo server) {
        if (lastUp == null) {
            LOG.infof("watching PostgreSQL %s (%s) at %s", server.version(), server.role(), connector.displayUrl());
        } else if (lastUp.server().inRecovery() != server.inRecovery()) {
            LOG.warnf("target role changed from %s to %s", lastUp.server().role(), server.role());
        } else if (lastUp.server().startTimeSeconds() != server.startTimeSeconds()) {
            LOG.infof("target restarted (PostgreSQL %s); counters start again from this poll", server.version());
        }
    }

    /** The exception and its causes in one line, without stack traces. */
    public static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 500; t = t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().replace('\n', ' ');
            if (t.getMessage() != null && sb.indexOf(message) >= 0) {
                continue; // a cause whose message its wrapper already repeats (TLS errors wrap three deep)
            }
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            sb.append(message);
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                sb.append(" [SQLState ").append(sql.getSQLState()).append(']');
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return sb.toString();
    }

    private void closeSession() {
        if (session != null) {
            session.close();
            session = null;
        }
    }

    @PreDestroy
    public synchronized void close() {
        closeSession();
        pgbouncer.close();
    }
}
