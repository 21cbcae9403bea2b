package io.pgvigil.pgbouncer;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Monitor;
import io.pgvigil.pgbouncer.Poolers.Database;
import io.pgvigil.pgbouncer.Poolers.Pool;
import io.pgvigil.pgbouncer.Poolers.Reading;
import io.pgvigil.pgbouncer.Poolers.Stats;
import io.pgvigil.target.TargetConnector;

/**
 * Reads the configured PgBouncer's admin console in every poll: {@code SHOW POOLS}, {@code SHOW
 * DATABASES} and {@code SHOW STATS}, by column name. It keeps one console connection open between
 * polls, never more; a connection that fails is closed, and the next poll opens a new one (the same
 * poll retries once when a connection kept from an earlier poll turns out dead: PgBouncer restarted).
 * Connects within {@code pgvigil.target.connect-timeout}; each command must answer within
 * {@code pgvigil.target.statement-timeout} (a socket timeout: the console has no statement_timeout).
 * It runs on the poll's thread and starts none of its own. A failure is logged once, when it starts
 * and when it ends, and reported in {@link Reading#error()}; PostgreSQL's collectors never wait for it.
 */
@Singleton
public class PgBouncerPoller {

    private static final Logger LOG = Logger.getLogger(PgBouncerPoller.class);

    static final String POOLS = "SHOW POOLS";
    static final String DATABASES = "SHOW DATABASES";
    static final String STATS = "SHOW STATS";

    private final Optional<PgBouncerTarget> target;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private ConsoleConnection connection;
    private String lastProblem;
    private boolean everUp;

    @Inject
    public PgBouncerPoller(PgvigilConfig config) {
        this.target = PgBouncerTarget.of(config.pgbouncer());
        this.connectTimeout = config.target().connectTimeout();
        this.readTimeout = config.target().statementTimeout();
    }

    /** The collector key of {@code target} in {@code pgvigil_collector_*} and {@code /api/v1/status}. */
    public static String collectorKey(String name) {
        return "pgbouncer:" + name;
    }

    /** Reads every configured PgBouncer; {@link Poolers#NONE} when none is. Never throws. */
    public synchronized Poolers poll() {
        if (target.isEmpty()) {
            return Poolers.NONE;
        }
        return new Poolers(List.of(read(target.get())));
    }

    /** How each PgBouncer fared, as collector statuses. */
    public static List<CollectorStatus> statuses(Poolers poolers) {
        List<CollectorStatus> statuses = new ArrayList<>();
        for (Reading r : poolers.readings()) {
            statuses.add(new CollectorStatus(collectorKey(r.name()), true, null, r.up(), r.seconds(), r.error()));
        }
        return statuses;
    }

    private Reading read(PgBouncerTarget t) {
        long start = System.nanoTime();
        boolean reused = connection != null;
        try {
            Reading reading;
            try {
                reading = show(t, start);
            } catch (SQLException e) {
                if (!reused || !lost(e)) {
                    throw e;
                }
                // The connection kept since the last poll is dead (PgBouncer restarted, or dropped it): say so and
                // reconnect now, so that a PgBouncer that answers is not reported down for a whole interval.
                LOG.infof("connection to PgBouncer %s (%s) was lost (%s); reconnecting", t.name(), t.address(),
                        Monitor.describe(e));
                closeConnection();
                reading = show(t, start);
            }
            if (lastProblem != null || !everUp) {
                LOG.infof(lastProblem != null ? "PgBouncer %s (%s) answers again (%s)" : "watching PgBouncer %s (%s, %s)",
                        t.name(), t.address(), reading.version());
            }
            lastProblem = null;
            everUp = true;
            return reading;
        } catch (SQLException | RuntimeException e) {
            closeConnection();
            String problem = Monitor.describe(e);
            if (!problem.equals(lastProblem)) {
                LOG.warnf("PgBouncer %s (%s) cannot be polled: %s (retrying every poll; PostgreSQL is polled as usual)",
                        t.name(), t.address(), problem);
            }
            lastProblem = problem;
            return Reading.down(t, problem, (System.nanoTime() - start) / 1e9);
        }
    }

    private Reading show(PgBouncerTarget t, long start) throws SQLException {
        if (connection == null) {
            connection = ConsoleConnection.open(t.host(), t.port(), t.username(), t.currentPassword(),
                    TargetConnector.APPLICATION_NAME, connectTimeout, readTimeout);
        }
        List<Pool> pools = parse(POOLS, connection.query(POOLS), PgBouncerPoller::pool);
        List<Database> databases = parse(DATABASES, connection.query(DATABASES), PgBouncerPoller::database);
        List<Stats> stats = parse(STATS, connection.query(STATS), PgBouncerPoller::stats);
        return new Reading(t.name(), t.address(), true, null, connection.parameter("server_version"), pools, databases,
                stats, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The rows of {@code command}, parsed; a value that is not what its column should hold fails the
     * reading with the command and the column named (SQLSTATE 22P02), not a bare NumberFormatException.
     */
    static <T> List<T> parse(String command, List<Map<String, String>> rows, Function<Map<String, String>, T> parser)
            throws SQLException {
        List<T> parsed = new ArrayList<>(rows.size());
        for (Map<String, String> row : rows) {
            try {
                parsed.add(parser.apply(row));
            } catch (IllegalArgumentException e) {
                throw new SQLException("PgBouncer's " + command + " returned a row pgvigil cannot read: " + e.getMessage(),
                        "22P02", e);
            }
        }
        return parsed;
    }

    /** Whether the failure is a connection that is gone, rather than a refused command. */
    private static boolean lost(SQLException e) {
        return e.getSQLState() != null && e.getSQLState().startsWith("08") && !"08P01".equals(e.getSQLState());
    }

    static Pool pool(Map<String, String> r) {
        Long maxwait = Poolers.number(r, "maxwait");
        Long maxwaitUs = Poolers.number(r, "maxwait_us");
        Double wait = maxwait == null ? null : maxwait + (maxwaitUs == null ? 0 : maxwaitUs) / 1e6;
        return new Pool(r.get("database"), r.get("user"), Poolers.number(r, "cl_active"), Poolers.number(r, "cl_waiting"),
                Poolers.number(r, "sv_active"), Poolers.number(r, "sv_idle"), Poolers.number(r, "sv_used"),
                Poolers.number(r, "sv_tested"), Poolers.number(r, "sv_login"), wait, r.get("pool_mode"));
    }

    static Database database(Map<String, String> r) {
        // port is not parsed: pgvigil does not use it, and a unix-socket database may show it oddly.
        return new Database(r.get("name"), r.get("host"), r.get("database"),
                Poolers.number(r, "pool_size"), Poolers.number(r, "reserve_pool"), Poolers.number(r, "max_connections"),
                Poolers.number(r, "current_connections"), r.get("pool_mode"), flag(r.get("paused")), flag(r.get("disabled")));
    }

    static Stats stats(Map<String, String> r) {
        return new Stats(r.get("database"), Poolers.number(r, "total_xact_count"), Poolers.number(r, "total_query_count"),
                Poolers.number(r, "total_received"), Poolers.number(r, "total_sent"), Poolers.micros(r, "total_xact_time"),
                Poolers.micros(r, "total_query_time"), Poolers.micros(r, "total_wait_time"));
    }

    private static Boolean flag(String v) {
        return v == null ? null : !v.equals("0");
    }

    private void closeConnection() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }

    @PreDestroy
    public synchronized void close() {
        closeConnection();
    }
}
