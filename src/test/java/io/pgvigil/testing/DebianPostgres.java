package io.pgvigil.testing;


import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.pgvigil.config.PgvigilConfig;

/**
 * A PostgreSQL 15 cluster made with Debian's own binaries ({@code postgresql-15}, in
 * {@code /usr/lib/postgresql/15/bin}), for what zonky's binaries cannot do: they have no {@code pg_resetwal}, which is how a
 * test brings a cluster near transaction ID wraparound (DESIGN.md, "Facts verified"). Everything
 * lives in one temporary folder: the data directory, the log and the Unix socket directory; the
 * server listens on a free port on localhost. As in {@link PgServer}, the {@code postgres}
 * superuser is trusted and a {@code pgvigil} role with {@code pg_monitor} only logs in with a SCRAM
 * password. As root (PostgreSQL's programs refuse to run as root) each program runs in a user
 * namespace of its own ({@code unshare -U}), as zonky does.
 *
 * <p>Where the binaries are missing, {@link #require()} skips the test, saying so on stderr and in
 * the skip reason, unless the environment variable {@code CI} is set ({@code .ci/run} sets it and
 * installs the package): then it fails.
 */
public final class DebianPostgres implements AutoCloseable {

    /** Where Debian's postgresql-15 puts its programs; {@code -Dpgtest.debian-pg15=...} points elsewhere. */
    public static final String BIN = System.getProperty("pgtest.debian-pg15", "/usr/lib/postgresql/15/bin");

    private final Path folder;
    private final Path data;
    private final int port;
    private boolean running;

    private DebianPostgres(Path folder, int port) {
        this.folder = folder;
        this.data = folder.resolve("data");
        this.port = port;
    }

    /** Skips the test (outside CI) or fails it (CI set) when Debian's PostgreSQL 15 is not installed. */
    public static void require() {
        boolean present = Files.isExecutable(Path.of(BIN, "pg_resetwal")) && Files.isExecutable(Path.of(BIN, "initdb"))
                && Files.isExecutable(Path.of(BIN, "pg_ctl"));
        String message = BIN + "/pg_resetwal is missing: install Debian's postgresql-15 package (sudo apt-get install"
                + " -y postgresql-15), as .ci/run does, to run this test (zonky's binaries have no pg_resetwal)";
        Installed.require(present, message);
    }

    /**
     * Skips (outside CI) or fails (CI set) unless Debian's {@code postgresql-15-hypopg} is installed too,
     * as .ci/run installs it.
     */
    public static void requireHypopg() {
        require();
        boolean present = Files.exists(Path.of("/usr/share/postgresql/15/extension/hypopg.control"));
        String message = "hypopg is not installed for Debian's PostgreSQL 15: install postgresql-15-hypopg (sudo apt-get"
                + " install -y postgresql-15-hypopg), as .ci/run does, to run this test";
        Installed.require(present, message);
    }

    /**
     * Debian's {@code pgbench} (zonky's binaries have none): it drives a server of any version. Skips
     * the test (outside CI) or fails it (CI set) when the package is not installed.
     */
    public static String pgbench() {
        Path pgbench = Path.of(BIN, "pgbench");
        String message = pgbench + " is missing: install Debian's postgresql-15 package (sudo apt-get install -y"
                + " postgresql-15), as .ci/run does, to run this test (zonky's binaries have no pgbench)";
        Installed.require(Files.isExecutable(pgbench), message);
        return pgbench.toString();
    }

    /** A new cluster ({@code initdb}), not started yet. */
    public static DebianPostgres initdb() {
        require();
        try {
            Path folder = Files.createTempDirectory("pgvigil-deb15-");
            Files.createDirectories(folder.resolve("socket"));
            DebianPostgres pg = new DebianPostgres(folder, freePort());
            pg.run("initdb", "-D", pg.data.toString(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync");
            Files.writeString(pg.data.resolve("pg_hba.conf"), """
                    local all postgres trust
                    host  all postgres 127.0.0.1/32 trust
                    local all all scram-sha-256
                    host  all all 127.0.0.1/32 scram-sha-256
                    """);
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts it with these settings on top of the defaults ({@code -c name=value}; values without spaces). */
    public DebianPostgres start(Map<String, String> settings) {
        StringBuilder options = new StringBuilder("-p " + port + " -k " + folder.resolve("socket")
                + " -c listen_addresses=localhost");
        settings.forEach((name, value) -> options.append(" -c ").append(name).append('=').append(value));
        run("pg_ctl", "start", "-w", "-t", "60", "-D", data.toString(), "-l", folder.resolve("server.log").toString(),
                "-o", options.toString());
        running = true;
        return this;
    }

    /** Fast shutdown; the data directory stays. */
    public void stop() {
        if (running) {
            run("pg_ctl", "stop", "-w", "-m", "fast", "-D", data.toString());
            running = false;
        }
    }

    /** Runs {@code pg_resetwal} on the stopped cluster with these options ({@code -x 1200000000}). */
    public void resetwal(String... options) {
        List<String> args = new ArrayList<>(List.of("pg_resetwal"));
        args.addAll(List.of(options));
        args.add(data.toString());
        run(args.toArray(String[]::new));
    }

    /**
     * Writes a zero-filled SLRU segment ({@code pg_xact/0478}), as the server needs for the page holding
     * the next ID after {@code pg_resetwal} moved it: 32 pages of 8 kB, all transactions in it "in
     * progress" (none has run yet).
     */
    public void zeroSegment(String relativePath) {
        try {
            Files.write(data.resolve(relativePath), new byte[32 * 8192]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Creates the {@code pgvigil} monitoring role, as {@link PgServer} does. */
    public void createMonitorRole() {
        execute("postgres", "CREATE ROLE " + PgServer.MONITOR_ROLE + " LOGIN PASSWORD '" + PgServer.MONITOR_PASSWORD
                + "' IN ROLE pg_monitor");
    }

    /** The data directory (its {@code postmaster.pid} names the server's process). */
    public Path dataDirectory() {
        return data;
    }

    public int port() {
        return port;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://localhost:" + port + "/" + database;
    }

    /** A superuser connection (autocommit). */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database) + "?ApplicationName=pgvigil-test", "postgres", "");
    }

    /** Runs statements as the superuser in {@code database}. */
    public void execute(String database, String... sql) {
        try (Connection c = connect(database); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(String.join("; ", sql), e);
        }
    }

    /** Configuration that makes pgvigil watch this cluster as the pg_monitor role, plus overrides. */
    public PgvigilConfig config(String... keyValues) {
        Map<String, String> props = new HashMap<>();
        props.put("pgvigil.target.url", jdbcUrl("postgres"));
        props.put("pgvigil.target.username", PgServer.MONITOR_ROLE);
        props.put("pgvigil.target.password", PgServer.MONITOR_PASSWORD);
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        return TestConfig.of(props);
    }

    private void run(String... command) {
        List<String> full = new ArrayList<>();
        // PostgreSQL's programs refuse root; in a user namespace of their own they run as an unmapped user
        // that still owns what root owns outside.
        if ("root".equals(System.getProperty("user.name"))) {
            full.addAll(List.of("unshare", "-U"));
        }
        full.add(BIN + "/" + command[0]);
        full.addAll(List.of(command).subList(1, command.length));
        try {
            Process process = new ProcessBuilder(full).redirectErrorStream(true)
                    .redirectOutput(folder.resolve(command[0] + ".out").toFile()).start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", full) + " did not finish in 120 s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", full) + " failed: "
                        + Files.readString(folder.resolve(command[0] + ".out")) + log());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String log() throws IOException {
        Path log = folder.resolve("server.log");
        return Files.exists(log) ? "\nserver log:\n" + Files.readString(log) : "";
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() {
        try {
            stop();
        } finally {
            try (Stream<Path> files = Files.walk(folder)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a leftover temp directory is harmless
            }
        }
    }

    @Override
    public String toString() {
        return "Debian's PostgreSQL 15 on port " + port + " in " + folder;
    }
}
