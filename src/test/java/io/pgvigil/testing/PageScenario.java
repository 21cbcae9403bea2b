package io.pgvigil.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The page tests' scenario on a real PostgreSQL: every finding the page must show kept open by a
 * workload running in the background — a slow statement ({@code pg_sleep(0.15)}), an N+1 (one query per
 * user after the list of users), a lock wait (a session holding ACCESS EXCLUSIVE, another waiting), and a
 * duplicate index in a database and on a table whose names are hostile (markup, quotes, a newline).
 */
public final class PageScenario implements AutoCloseable {

    public static final String TOKEN = "page-token-0123456789abcdef";
    public static final String HOSTILE_DB = "shop <img src=x onerror=\"window.__pwned=1\"> 'q'\nline two";
    public static final String HOSTILE_TABLE = "t<img src=x onerror=window.__pwned=2>";
    public static final String HOSTILE_INDEX = "<script>window.__pwned=3</script>";
    public static final String CHILD = "SELECT id, title FROM posts WHERE user_id = $1";
    public static final String PARENT = "SELECT id FROM users ORDER BY id LIMIT $1";
    public static final String LOCK = "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE";

    /**
     * pgvigil's settings for the scenario: the API token, lock_wait from 1 s, and n_plus_one judged over a
     * short window rather than a minute (5 s asked, stretched to 8 polls, 8 s at the tests' 1 s interval: a
     * pair opens once matched at 80 % or more of the polls of its window that judged it).
     */
    public static final Map<String, String> CONFIG = Map.of("pgvigil.api.token", TOKEN,
            "pgvigil.checks.lock-wait.warning", "1s", "pgvigil.checks.lock-wait.critical", "1h",
            "pgvigil.checks.n-plus-one.window", "5s");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final PgServer pg;
    private final AtomicBoolean stop = new AtomicBoolean();
    private Connection lockHolder;
    private Thread lockWaiter;
    private Thread workload;

    private PageScenario(PgServer pg) {
        this.pg = pg;
    }

    /** Creates the data and starts the workload and the lock wait. */
    public static PageScenario start(PgServer pg) throws SQLException {
        PageScenario s = new PageScenario(pg);
        s.prepare();
        return s;
    }

    public static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    private void prepare() throws SQLException {
        pg.recreateDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE users (id int PRIMARY KEY, name text)");
            st.execute("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 100) g");
            st.execute("CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL, title text)");
            st.execute("INSERT INTO posts (user_id, title) SELECT g % 100 + 1, 'post ' || g FROM generate_series(1, 1000) g");
            st.execute("CREATE INDEX ON posts (user_id)");
            st.execute("CREATE TABLE locked (id int)");
            st.execute("ANALYZE");
        }
        pg.execute("DROP DATABASE IF EXISTS " + quote(HOSTILE_DB), "CREATE DATABASE " + quote(HOSTILE_DB));
        try (Connection c = pg.connect(HOSTILE_DB); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE " + quote(HOSTILE_TABLE) + " (a int, b int)");
            st.execute("CREATE INDEX " + quote(HOSTILE_INDEX) + " ON " + quote(HOSTILE_TABLE) + " (a)");
            st.execute("CREATE INDEX dup_ab ON " + quote(HOSTILE_TABLE) + " (a, b)");
        }
        lockHolder = pg.connect("shop");
        lockHolder.setAutoCommit(false);
        try (Statement st = lockHolder.createStatement()) {
            st.execute(LOCK);
        }
        lockWaiter = new Thread(() -> {
            try (Connection c = pg.connect("shop"); Statement st = c.createStatement()) {
                st.execute("SELECT count(*) FROM locked");
            } catch (SQLException e) {
                // ended by the holder's rollback or the server's stop: either is the end of the wait
            }
        }, "page-test-lock-waiter");
        lockWaiter.start();
        workload = new Thread(this::loop, "page-test-workload");
        workload.setDaemon(true);
        workload.start();
    }

    /** A slow statement and an N+1, over and over, until stopped or the server goes. */
    private void loop() {
        try (Connection c = pg.connect("shop")) {
            while (!stop.get()) {
                try {
                    List<Integer> ids = new ArrayList<>();
                    try (PreparedStatement ps = c.prepareStatement("SELECT id FROM users ORDER BY id LIMIT ?")) {
                        ps.setInt(1, 100);
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                ids.add(rs.getInt(1));
                            }
                        }
                    }
                    for (int id : ids) {
                        try (PreparedStatement ps = c.prepareStatement("SELECT id, title FROM posts WHERE user_id = ?")) {
                            ps.setInt(1, id);
                            ps.executeQuery().close();
                        }
                    }
                    try (Statement st = c.createStatement()) {
                        st.execute("SELECT pg_sleep(0.15)");
                    }
                } catch (SQLException e) {
                    if (c.isClosed() || !c.isValid(1)) {
                        return;
                    }
                }
            }
        } catch (SQLException e) {
            // the server is gone
        }
    }

    /** Waits until /api/v1/findings (its JSON body, from {@code findings}) lists the four findings. */
    public static void awaitFindings(Supplier<String> findings) {
        PgServer.await("slow_query, n_plus_one, duplicate_index and lock_wait open", () -> {
            List<String> checks = new ArrayList<>();
            try {
                for (JsonNode f : JSON.readTree(findings.get()).path("items")) {
                    checks.add(f.path("check").asText());
                }
            } catch (java.io.IOException e) {
                return false;
            }
            return checks.containsAll(List.of("slow_query", "n_plus_one", "duplicate_index", "lock_wait"));
        });
    }

    /** Ends the workload and the lock wait (before the server is stopped). */
    public void stopWorkload() throws Exception {
        stop.set(true);
        if (lockHolder != null) {
            lockHolder.rollback();
            lockHolder.close();
            lockHolder = null;
        }
        if (workload != null) {
            workload.join(10_000);
        }
        if (lockWaiter != null) {
            lockWaiter.join(10_000);
        }
    }

    @Override
    public void close() throws Exception {
        stopWorkload();
    }
}
