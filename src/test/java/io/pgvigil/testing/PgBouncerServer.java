package io.pgvigil.testing;


import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PgBouncer (Debian's {@code pgbouncer} package, {@code /usr/sbin/pgbouncer}) in front of a
 * {@link PgServer}, configured by a generated {@code pgbouncer.ini} and {@code userlist.txt} in a
 * temporary folder, listening on a free port on localhost, run in the foreground as a child process.
 *
 * <p>PgBouncer refuses to run as root ("PgBouncer should not run as root"). As root it runs in a user
 * namespace of its own ({@code unshare -U}), as {@link PgServer} runs PostgreSQL: inside it the
 * process's uid is the overflow uid, so PgBouncer starts, and it still reads and writes the folder
 * (the files' owner is its real uid). {@code unshare} execs PgBouncer, so stopping the child process
 * (SIGTERM) stops PgBouncer itself.
 *
 * <p>One database, {@code app}, points at the PostgreSQL server's {@code postgres} database; clients log
 * in as {@link #APP_USER} ({@code postgres}, which the server trusts from localhost), so the pool is
 * {@code app/postgres}. {@link #STATS_USER} is in {@code stats_users}; {@link #OTHER_USER} has a password
 * but is in neither {@code stats_users} nor {@code admin_users}. Clients authenticate with SCRAM-SHA-256.
 *
 * <p>Without the binary {@link #require()} skips the test, saying so on stderr, unless {@code CI} is
 * set: then it fails ({@code .ci/run} installs the package).
 */
public final class PgBouncerServer implements AutoCloseable {

    public static final String BIN = System.getProperty("pgtest.pgbouncer", "/usr/sbin/pgbouncer");
    public static final String DATABASE = "app";
    public static final String APP_USER = "postgres";
    public static final String APP_PASSWORD = "app-secret-1";
    public static final String STATS_USER = "pgvigil";
    public static final String STATS_PASSWORD = "stats-secret-1";
    public static final String OTHER_USER = "intruder";
    public static final String OTHER_PASSWORD = "intruder-secret-1";

    private final Path folder;
    private final int port;
    private Process process;

    private PgBouncerServer(Path folder, int port) {
        this.folder = folder;
        this.port = port;
    }

    /** Skips the test (outside CI) or fails it (CI set) when Debian's pgbouncer is not installed. */
    public static void require() {
        boolean present = Files.isExecutable(Path.of(BIN));
        String message = BIN + " is missing: install Debian's pgbouncer package (sudo apt-get install -y pgbouncer),"
                + " as .ci/run does, to run the PgBouncer tests";
        Installed.require(present, message);
    }

    /**
     * Starts PgBouncer in front of {@code backend} with {@code pool_mode} and {@code default_pool_size},
     * plus more {@code [pgbouncer]} settings as {@code key = value} lines.
     */
    public static PgBouncerServer start(PgServer backend, String poolMode, int poolSize, String... settings) {
        return start(backend, poolMode, poolSize, 0, settings);
    }

    /** As {@link #start(PgServer, String, int, String...)}, with {@code app1} to {@code app<moreDatabases>} too (benchmarks). */
    public static PgBouncerServer start(PgServer backend, String poolMode, int poolSize, int moreDatabases,
            String... settings) {
        require();
        try {
            Path folder = Files.createTempDirectory("pgvigil-pgbouncer-");
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            Files.writeString(folder.resolve("userlist.txt"), "\"" + APP_USER + "\" \"" + APP_PASSWORD + "\"\n\""
                    + STATS_USER + "\" \"" + STATS_PASSWORD + "\"\n\"" + OTHER_USER + "\" \"" + OTHER_PASSWORD + "\"\n");
            StringBuilder ini = new StringBuilder();
            ini.append("[databases]\n").append(DATABASE).append(" = host=127.0.0.1 port=").append(backend.port())
                    .append(" dbname=postgres\n");
            for (int i = 1; i <= moreDatabases; i++) {
                ini.append(DATABASE).append(i).append(" = host=127.0.0.1 port=").append(backend.port()).append(" dbname=postgres\n");
            }
            java.util.Map<String, String> pgbouncer = new java.util.LinkedHashMap<>();
            pgbouncer.put("listen_addr", "127.0.0.1");
            pgbouncer.put("listen_port", Integer.toString(port));
            pgbouncer.put("unix_socket_dir", "");
            pgbouncer.put("auth_type", "scram-sha-256");
            pgbouncer.put("auth_file", folder.resolve("userlist.txt").toString());
            pgbouncer.put("stats_users", STATS_USER);
            pgbouncer.put("pool_mode", poolMode);
            pgbouncer.put("default_pool_size", Integer.toString(poolSize));
            pgbouncer.put("reserve_pool_size", "0");
            pgbouncer.put("max_client_conn", "100");
            // A test that goes wrong fails in seconds, not after the default 120 s.
            pgbouncer.put("query_wait_timeout", "20");
            pgbouncer.put("logfile", folder.resolve("pgbouncer.log").toString());
            for (String setting : settings) {
                String[] kv = setting.split("=", 2);
                pgbouncer.put(kv[0].strip(), kv[1].strip()); // a test's setting replaces the default, never repeats it
            }
            ini.append("\n[pgbouncer]\n");
            pgbouncer.forEach((key, value) -> ini.append(key).append(" = ").append(value).append('\n'));
            Files.writeString(folder.resolve("pgbouncer.ini"), ini);
            PgBouncerServer server = new PgBouncerServer(folder, port);
            server.startProcess();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("PgBouncer did not start", e);
        }
    }

    /** Starts PgBouncer again after {@link #stop()}, on the same port with the same configuration. */
    public synchronized PgBouncerServer startProcess() {
        if (process != null) {
            return this;
        }
        List<String> command = new ArrayList<>("root".equals(System.getProperty("user.name"))
                ? List.of("unshare", "-U") : List.of());
        command.add(BIN);
        command.add(folder.resolve("pgbouncer.ini").toString());
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(folder.resolve("stdout.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!accepts()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String log = log();
                stop();
                throw new AssertionError("PgBouncer did not start listening on " + port + ": " + log);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        return this;
    }

    /** SIGTERM ("fast exit": every connection is dropped) and wait for the process to end. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            process = null;
        }
    }

    /** Freezes PgBouncer (SIGSTOP): it keeps its sockets open but answers nothing, as a hung process would. */
    public synchronized void pause() {
        signal("STOP");
    }

    /** Lets a paused PgBouncer run again (SIGCONT). */
    public synchronized void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            // unshare execs PgBouncer, so the child's pid is PgBouncer's.
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new AssertionError("kill -" + name + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public int port() {
        return port;
    }

    /** {@code pgvigil.pgbouncer.url}. */
    public String url() {
        return "postgresql://127.0.0.1:" + port;
    }

    /** A client of the {@code app} database through PgBouncer, as an application would connect. */
    public Connection connectApp() throws SQLException {
        return connectApp(DATABASE);
    }

    /** A client of {@code database} (a PgBouncer database name) through PgBouncer. */
    public Connection connectApp(String database) throws SQLException {
        // prepareThreshold=0: no named server-side statements, which transaction pooling cannot carry.
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database
                + "?prepareThreshold=0&ApplicationName=pgbouncer-test-client", APP_USER, APP_PASSWORD);
    }

    /** PgBouncer's log, for failure messages. */
    public String log() {
        try {
            Path log = folder.resolve("pgbouncer.log");
            return Files.exists(log) ? Files.readString(log) : Files.readString(folder.resolve("stdout.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        stop();
        try (var files = Files.walk(folder)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder left behind is harmless
        }
    }
}
