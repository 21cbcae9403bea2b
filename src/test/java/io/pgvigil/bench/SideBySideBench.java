package io.pgvigil.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgvigil.testing.DebianPostgres;
import io.pgvigil.testing.PackagedApp;
import io.pgvigil.testing.PgServer;

/**
 * pgvigil and Debian's {@code prometheus-postgres-exporter} side by side on one PostgreSQL 15 cluster
 * holding the reference data set (statements of ~1 KiB normalized text, tables, indexes), as a
 * database team would compare them. Not a test: run {@code bench/sidebyside.sh [options]} (it builds
 * the jar and installs the exporter when missing); see docs/performance.md.
 *
 * <p>Phase 1, the server's CPU: the PostgreSQL process tree's utime+stime from /proc (exited
 * backends through the postmaster's cutime+cstime) over alternating windows in which nothing runs
 * (idle), only pgvigil runs (polling at its cadence and scraped at it), or only the exporter is
 * scraped at that cadence. pgvigil is held with SIGSTOP outside its windows; the exporter does no
 * work between scrapes. Each window's server CPU minus the idle rate, per poll interval, gives
 * "server CPU per 15 s" at the production cadence. Each monitor's own CPU is its process's
 * utime+stime over its windows.
 *
 * <p>Phase 2, the pod: a new pgvigil with the same JVM options polling every second (memory does
 * not depend on the cadence, only on how many polls and scrapes it has served): time to the first
 * poll, RSS after start, after 100 polls and after 1,000 scrapes (peak sampled along), paired with
 * as many exporter scrapes: latency p50/p99, exposition size and series.
 */
public final class SideBySideBench {

    /**
     * deploy/k8s: JAVA_OPTS_APPEND and MALLOC_ARENA_MAX of a 320 MiB container (the JVM reads MaxRAM
     * from the cgroup).
     */
    static final String DEPLOY_JVM = "-XX:MaxRAM=320m -XX:MaxRAMPercentage=50 -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
            + " -Xmn24m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:+ExitOnOutOfMemoryError MALLOC_ARENA_MAX=2";

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    static final Pattern POLLS = Pattern.compile("^pgvigil_polls_total\\{result=\"success\",?\\} (\\S+)$", Pattern.MULTILINE);

    /**
     * What the issue's reference ran: the exporter's default collectors plus the classic
     * pg_stat_statements query of its example queries.yaml (PostgreSQL 13+ column names), the top 100
     * by execution time. The view reads the query-text file on every scrape.
     */
    static final String QUERIES_YAML = """
            pg_stat_statements:
              query: "SELECT t2.rolname, t3.datname, queryid, calls, total_exec_time / 1000 AS total_time_seconds, min_exec_time / 1000 AS min_time_seconds, max_exec_time / 1000 AS max_time_seconds, mean_exec_time / 1000 AS mean_time_seconds, stddev_exec_time / 1000 AS stddev_time_seconds, rows, shared_blks_hit, shared_blks_read, shared_blks_dirtied, shared_blks_written, local_blks_hit, local_blks_read, local_blks_dirtied, local_blks_written, temp_blks_read, temp_blks_written, blk_read_time / 1000 AS blk_read_time_seconds, blk_write_time / 1000 AS blk_write_time_seconds FROM pg_stat_statements t1 JOIN pg_roles t2 ON (t1.userid = t2.oid) JOIN pg_database t3 ON (t1.dbid = t3.oid) WHERE t2.rolname != 'rdsadmin' ORDER BY total_exec_time DESC LIMIT 100"
              master: true
              metrics:
                - rolname: {usage: "LABEL", description: "Name of user"}
                - datname: {usage: "LABEL", description: "Name of database"}
                - queryid: {usage: "LABEL", description: "Query ID"}
                - calls: {usage: "COUNTER", description: "Number of times executed"}
                - total_time_seconds: {usage: "COUNTER", description: "Total time spent in the statement, in seconds"}
                - min_time_seconds: {usage: "GAUGE", description: "Minimum time spent in the statement, in seconds"}
                - max_time_seconds: {usage: "GAUGE", description: "Maximum time spent in the statement, in seconds"}
                - mean_time_seconds: {usage: "GAUGE", description: "Mean time spent in the statement, in seconds"}
                - stddev_time_seconds: {usage: "GAUGE", description: "Population standard deviation of time spent in the statement, in seconds"}
                - rows: {usage: "COUNTER", description: "Total number of rows retrieved or affected by the statement"}
                - shared_blks_hit: {usage: "COUNTER", description: "Total number of shared block cache hits by the statement"}
                - shared_blks_read: {usage: "COUNTER", description: "Total number of shared blocks read by the statement"}
                - shared_blks_dirtied: {usage: "COUNTER", description: "Total number of shared blocks dirtied by the statement"}
                - shared_blks_written: {usage: "COUNTER", description: "Total number of shared blocks written by the statement"}
                - local_blks_hit: {usage: "COUNTER", description: "Total number of local block cache hits by the statement"}
                - local_blks_read: {usage: "COUNTER", description: "Total number of local blocks read by the statement"}
                - local_blks_dirtied: {usage: "COUNTER", description: "Total number of local blocks dirtied by the statement"}
                - local_blks_written: {usage: "COUNTER", description: "Total number of local blocks written by the statement"}
                - temp_blks_read: {usage: "COUNTER", description: "Total number of temp blocks read by the statement"}
                - temp_blks_written: {usage: "COUNTER", description: "Total number of temp blocks written by the statement"}
                - blk_read_time_seconds: {usage: "COUNTER", description: "Total time the statement spent reading blocks, in seconds"}
                - blk_write_time_seconds: {usage: "COUNTER", description: "Total time the statement spent writing blocks, in seconds"}
            """;

    static final String EXPORTER = "/usr/bin/prometheus-postgres-exporter";

    static long clockTicks = 100;

    record Options(int statements, int tables, int indexes, int intervalSeconds, int visitSeconds, int windowSeconds,
            int rounds, int polls, int scrapes, int podInterval, int podVisit, List<String> jvms, boolean skipPhase1,
            boolean alone) {

        String jvm() {
            return jvms.get(0);
        }

        static Options parse(String[] args) {
            Map<String, String> o = new HashMap<>();
            boolean fast = false;
            boolean skip = false;
            boolean alone = false;
            List<String> jvms = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--fast" -> fast = true;
                    case "--no-windows" -> skip = true;
                    case "--alone" -> alone = true;
                    case "--jvm" -> jvms.add(args[++i]);
                    default -> {
                        if (!args[i].startsWith("--") || i + 1 >= args.length) {
                            throw new IllegalArgumentException("unknown argument " + args[i] + "; options: --statements N"
                                    + " --tables N --indexes N --interval S --visit S --seconds S --rounds N --polls N"
                                    + " --scrapes N --pod-interval S --pod-visit S --jvm 'OPTIONS' --fast --no-windows --alone");
                        }
                        o.put(args[i].substring(2), args[++i]);
                    }
                }
            }
            return new Options(i(o, "statements", 4900), i(o, "tables", 2500), i(o, "indexes", 10000),
                    i(o, "interval", fast ? 1 : 15), i(o, "visit", fast ? 4 : 60), i(o, "seconds", fast ? 30 : 120),
                    i(o, "rounds", fast ? 3 : 2), i(o, "polls", 100), i(o, "scrapes", 1000),
                    i(o, "pod-interval", 1), i(o, "pod-visit", 4),
                    jvms.isEmpty() ? List.of(DEPLOY_JVM) : jvms, skip, alone);
        }

        private static int i(Map<String, String> o, String key, int dflt) {
            return o.containsKey(key) ? Integer.parseInt(o.get(key)) : dflt;
        }
    }

    public static void main(String[] args) throws Exception {
        Options opt = Options.parse(args);
        if (!Files.isExecutable(Path.of(EXPORTER))) {
            throw new IllegalStateException(EXPORTER + " is missing: apt-get install -y prometheus-postgres-exporter"
                    + " (bench/sidebyside.sh does it)");
        }
        clockTicks = Long.parseLong(exec("getconf", "CLK_TCK").trim());
        int pgssMax = Math.max(5000, opt.statements() + opt.statements() / 4 + 200);
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("shared_preload_libraries", "pg_stat_statements");
        settings.put("pg_stat_statements.max", Integer.toString(pgssMax));
        settings.put("max_locks_per_transaction", "256");
        try (DebianPostgres pg = DebianPostgres.initdb().start(settings)) {
            long t0 = System.nanoTime();
            build(pg, opt);
            System.out.printf("PostgreSQL 15 (Debian) on port %d; data set built in %.0f s: %d statements (pg_stat_statements.max"
                    + " %d), %d tables, %d indexes in database bench%n", pg.port(), (System.nanoTime() - t0) / 1e9,
                    count(pg, "postgres", "SELECT count(*) FROM pg_stat_statements WHERE userid = 'app'::regrole"), pgssMax,
                    count(pg, "bench", "SELECT count(*) FROM pg_stat_user_tables"),
                    count(pg, "bench", "SELECT count(*) FROM pg_stat_user_indexes"));
            System.out.printf("pgvigil JVM options: %s%n", opt.jvm());
            Path work = Files.createTempDirectory("pgvigil-sidebyside-");
            try (Exporter exporter = Exporter.start(pg, work);
                    Connection admin = pg.connect("postgres")) {
                if (!opt.skipPhase1()) {
                    phase1(pg, opt, exporter, admin);
                }
                phase2(pg, opt, exporter, opt.jvm(), !opt.alone());
                // Further --jvm options: pgvigil alone, the same polls and scrapes, to compare JVM settings.
                for (String jvm : opt.jvms().subList(1, opt.jvms().size())) {
                    phase2(pg, opt, exporter, jvm, false);
                }
            } finally {
                try (var files = Files.walk(work)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /** Statements as role app in database bench, then tables and indexes in batches (each CREATE locks its relation). */
    static void build(DebianPostgres pg, Options opt) throws Exception {
        pg.createMonitorRole();
        pg.execute("postgres", "CREATE EXTENSION pg_stat_statements", "CREATE ROLE app LOGIN",
                "CREATE ROLE exporter LOGIN PASSWORD 'exporter' IN ROLE pg_monitor", "CREATE DATABASE bench");
        int perTable = opt.indexes() / opt.tables();
        int extra = opt.indexes() - opt.tables() * perTable;
        try (Connection c = pg.connect("bench"); Statement st = c.createStatement()) {
            StringBuilder batch = new StringBuilder();
            for (int t = 0; t < opt.tables(); t++) {
                int indexes = perTable + (t < extra ? 1 : 0);
                int columns = Math.max(1, indexes - 1);
                StringBuilder ddl = new StringBuilder("CREATE TABLE t" + t + " (id int PRIMARY KEY");
                for (int k = 0; k < columns; k++) {
                    ddl.append(", c").append(k).append(" int");
                }
                ddl.append(");");
                for (int k = 0; k < indexes - 1; k++) {
                    ddl.append("CREATE INDEX ON t").append(t).append(" (c").append(k).append(");");
                }
                batch.append(ddl);
                if (t % 50 == 49 || t == opt.tables() - 1) {
                    st.execute(batch.toString());
                    batch.setLength(0);
                }
            }
            // Each statement its own shape: operators spell its number in binary; ~1 KiB of normalized text.
            st.execute("SET ROLE app");
            int bits = Math.max(1, 32 - Integer.numberOfLeadingZeros(Math.max(1, opt.statements() - 1)));
            for (int i = 0; i < opt.statements(); i++) {
                StringBuilder sql = new StringBuilder("/* reporting query, dashboard panel ").append(" ".repeat(860))
                        .append(" */ SELECT 1");
                for (int bit = 0; bit < bits; bit++) {
                    sql.append((i >> bit & 1) == 1 ? " + " : " - ").append(bit + 2);
                }
                st.execute(sql.toString());
            }
        }
        pg.execute("bench", "VACUUM ANALYZE");
    }

    // ---------------------------------------------------------------- phase 1: the server's CPU

    record Window(String who, double seconds, double serverMs, double ownMs, double polls, int connections) {
    }

    static void phase1(DebianPostgres pg, Options opt, Exporter exporter, Connection admin) throws Exception {
        long postmaster = postmaster(pg);
        System.out.printf("%n== Phase 1: server CPU, poll/scrape every %d s, visits every %d s, %d rounds x 3 windows"
                + " of %d s ==%n", opt.intervalSeconds(), opt.visitSeconds(), opt.rounds(), opt.windowSeconds());
        Map<String, String> props = pgvigilProps(pg, opt, opt.intervalSeconds(), opt.visitSeconds());
        long launched = System.nanoTime();
        try (PackagedApp app = launch(props, opt.jvm())) {
            double firstPoll = awaitPolls(app, 1, launched);
            System.out.printf("pgvigil: first poll (with its first visit) %.2f s after launch; RSS %.1f MiB%n", firstPoll,
                    rssMiB(app.pid()));
            // The first round reads every text once: let one visit and a few polls pass before measuring.
            awaitPolls(app, 3, launched);
            exporter.scrape();
            signal(app.pid(), "STOP");
            Thread.sleep(2000);
            List<Window> windows = new ArrayList<>();
            String[][] orders = {{"idle", "pgvigil", "exporter"}, {"exporter", "idle", "pgvigil"}, {"pgvigil", "exporter", "idle"}};
            for (int r = 0; r < opt.rounds(); r++) {
                for (String who : orders[r % orders.length]) {
                    Window w = window(who, opt, postmaster, app, exporter, admin);
                    windows.add(w);
                    System.out.printf("  round %d %-8s %5.0f s: server %7.1f ms (%5.2f ms/s), own CPU %6.0f ms, polls %3.0f,"
                            + " connections %d%n", r + 1, who, w.seconds(), w.serverMs(), w.serverMs() / w.seconds(),
                            w.ownMs(), w.polls(), w.connections());
                }
            }
            signal(app.pid(), "CONT");
            double idleRate = rate(windows, "idle", Window::serverMs);
            double pgvigilServer = (rate(windows, "pgvigil", Window::serverMs) - idleRate) * opt.intervalSeconds();
            double exporterServer = (rate(windows, "exporter", Window::serverMs) - idleRate) * opt.intervalSeconds();
            double pgvigilOwn = rate(windows, "pgvigil", Window::ownMs) * opt.intervalSeconds();
            double exporterOwn = rate(windows, "exporter", Window::ownMs) * opt.intervalSeconds();
            double polls = windows.stream().filter(w -> w.who().equals("pgvigil")).mapToDouble(Window::polls).sum();
            double pgSeconds = windows.stream().filter(w -> w.who().equals("pgvigil")).mapToDouble(Window::seconds).sum();
            int pgConn = windows.stream().filter(w -> w.who().equals("pgvigil")).mapToInt(Window::connections).max().orElse(0);
            int exConn = windows.stream().filter(w -> w.who().equals("exporter")).mapToInt(Window::connections).max().orElse(0);
            System.out.printf("%nidle server: %.2f ms/s; pgvigil made %.0f polls in %.0f s (%.2f per %d s)%n", idleRate, polls,
                    pgSeconds, polls / pgSeconds * opt.intervalSeconds(), opt.intervalSeconds());
            String per = "per " + opt.intervalSeconds() + " s";
            System.out.printf("%n| %s (poll/scrape every %d s, visits every %d s) | pgvigil | postgres_exporter | ratio |%n",
                    per, opt.intervalSeconds(), opt.visitSeconds());
            System.out.println("|---|---|---|---|");
            row("server CPU " + per + " (idle subtracted), ms", pgvigilServer, exporterServer);
            row("monitor's own CPU " + per + ", ms", pgvigilOwn, exporterOwn);
            System.out.printf("| connections held (max seen at window ends) | %d | %d | |%n", pgConn, exConn);
            System.out.printf("%nserver execution time by statement (pg_stat_statements; planning, parsing and connecting"
                    + " not included), ms per call:%n");
            try (Statement st = admin.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT r.rolname, s.calls, round(s.total_exec_time::numeric / s.calls, 2) AS mean,
                           round(s.total_exec_time::numeric, 0) AS total, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 90)
                      FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                     WHERE r.rolname IN ('pgvigil', 'exporter') AND s.calls >= 3
                     ORDER BY s.total_exec_time DESC LIMIT 24
                    """)) {
                while (rs.next()) {
                    System.out.printf("  %-8s %6d calls %8s ms %7s ms total  %s%n", rs.getString(1), rs.getLong(2),
                            rs.getString(3), rs.getString(4), rs.getString(5));
                }
            }
        }
    }

    static void row(String name, double pgvigil, double exporter) {
        System.out.printf("| %s | %.1f | %.1f | %.2fx |%n", name, pgvigil, exporter, pgvigil / exporter);
    }

    static double rate(List<Window> windows, String who, java.util.function.ToDoubleFunction<Window> value) {
        double sum = 0;
        double seconds = 0;
        for (Window w : windows) {
            if (w.who().equals(who)) {
                sum += value.applyAsDouble(w);
                seconds += w.seconds();
            }
        }
        return sum / seconds;
    }

    static Window window(String who, Options opt, long postmaster, PackagedApp app, Exporter exporter, Connection admin)
            throws Exception {
        long monitor = switch (who) {
            case "pgvigil" -> app.pid();
            case "exporter" -> exporter.pid();
            default -> -1;
        };
        double pollsBefore = who.equals("pgvigil") ? -1 : 0;
        long ownBefore = monitor > 0 ? processTicks(monitor) : 0;
        if (who.equals("pgvigil")) {
            signal(app.pid(), "CONT");
        }
        long serverBefore = treeTicks(postmaster);
        long start = System.nanoTime();
        long end = start + opt.windowSeconds() * 1_000_000_000L;
        String firstScrape = null;
        String lastScrape = null;
        for (long next = start; next < end; next += opt.intervalSeconds() * 1_000_000_000L) {
            sleepUntil(next);
            // Prometheus scrapes both at the same cadence; pgvigil's scrape reads no database.
            if (who.equals("pgvigil")) {
                lastScrape = get(app.port(), "/metrics");
                if (firstScrape == null) {
                    firstScrape = lastScrape;
                }
            } else if (who.equals("exporter")) {
                exporter.scrape();
            }
        }
        sleepUntil(end);
        long serverAfter = treeTicks(postmaster);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (who.equals("pgvigil")) {
            signal(app.pid(), "STOP");
        }
        long ownAfter = monitor > 0 ? processTicks(monitor) : 0;
        double polls = 0;
        if (who.equals("pgvigil")) {
            // A last scrape after the window would need pgvigil running: count from the scrapes inside it.
            polls = pollCount(lastScrape) - pollCount(firstScrape);
        }
        int connections = 0;
        if (monitor > 0) {
            try (Statement st = admin.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + (who.equals("pgvigil") ? "pgvigil" : "exporter") + "'")) {
                rs.next();
                connections = rs.getInt(1);
            }
        }
        return new Window(who, seconds, ticksToMs(serverAfter - serverBefore), ticksToMs(ownAfter - ownBefore), polls,
                connections);
    }

    // ---------------------------------------------------------------- phase 2: the pod

    static void phase2(DebianPostgres pg, Options opt, Exporter exporter, String jvm, boolean withExporter)
            throws Exception {
        System.out.printf("%n== Phase 2: memory, first poll and scrapes (pgvigil polling every %d s, visits every %d s)%s ==%n",
                opt.podInterval(), opt.podVisit(), withExporter ? "" : ", pgvigil alone with " + jvm);
        Map<String, String> props = pgvigilProps(pg, opt, opt.podInterval(), opt.podVisit());
        // The collector's log (uptime-stamped) tells which pauses fell among the scrapes.
        Path gcLog = Files.createTempFile("pgvigil-gc-", ".log");
        String logged = jvm.contains("-Xlog:gc") ? jvm : jvm + " -Xlog:gc:file=" + gcLog + ":uptime";
        long launched = System.nanoTime();
        long launchedAt = System.currentTimeMillis();
        try (PackagedApp app = launch(props, logged)) {
            double firstPoll = awaitPolls(app, 1, launched);
            String firstBody = lastBody;
            double rssStart = rssMiB(app.pid());
            app.output().lines().filter(l -> l.contains("started in") || l.contains("watching PostgreSQL"))
                    .forEach(l -> System.out.printf("  pgvigil at %s: %s%n", sinceLaunch(l, launchedAt),
                            l.replaceAll("^.*?(INFO|WARN)", "$1")));
            System.out.printf("  first poll seen at %.2f s; it took %s%n", firstPoll, pollBreakdown(firstBody));
            awaitPolls(app, opt.polls(), launched);
            double rssPolls = rssMiB(app.pid());
            double exRssBefore = rssMiB(exporter.pid());
            int exScrapesBefore = exporter.scrapes;
            double[] pgLatency = new double[opt.scrapes()];
            double[] exLatency = new double[opt.scrapes()];
            double peak = rssPolls;
            double exPeak = exRssBefore;
            String pgBody = "";
            String exBody = "";
            double scrapesFrom = (System.nanoTime() - launched) / 1e9;
            for (int i = 0; i < opt.scrapes(); i++) {
                long s = System.nanoTime();
                pgBody = get(app.port(), "/metrics");
                pgLatency[i] = (System.nanoTime() - s) / 1e6;
                if (withExporter) {
                    s = System.nanoTime();
                    exBody = exporter.scrape();
                    exLatency[i] = (System.nanoTime() - s) / 1e6;
                } else {
                    // the exporter's scrape takes tens of ms: keep about the same pace for pgvigil alone
                    Thread.sleep(20);
                }
                if (i % 50 == 49) {
                    peak = Math.max(peak, rssMiB(app.pid()));
                    exPeak = Math.max(exPeak, rssMiB(exporter.pid()));
                }
            }
            double scrapesTo = (System.nanoTime() - launched) / 1e9;
            String floor = httpFloor(app.port());
            String pauses = Files.exists(gcLog) && !logged.equals(jvm) ? gcPauses(gcLog, scrapesFrom, scrapesTo) : "not logged";
            Files.deleteIfExists(gcLog);
            if (!withExporter) {
                System.out.printf("first poll %.2f s; scrape p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; %d series; RSS"
                        + " after start %.1f, after %d polls %.1f, after %d scrapes %.1f, peak %.1f MiB%n", firstPoll,
                        pct(pgLatency, 0.5), pct(pgLatency, 0.9), pct(pgLatency, 0.99), pct(pgLatency, 1), series(pgBody),
                        rssStart, opt.polls(), rssPolls, opt.scrapes(), rssMiB(app.pid()), Math.max(peak, rssMiB(app.pid())));
                System.out.printf("GC pauses during the scrapes (%.0f s): %s%n", scrapesTo - scrapesFrom, pauses);
                System.out.printf("server side (http_server_requests_seconds of /metrics): %s%n", serverSide(pgBody));
                System.out.println(floor);
                printThreads(app.pid());
                return;
            }
            double rssScrapes = rssMiB(app.pid());
            double exRssScrapes = rssMiB(exporter.pid());
            System.out.printf("%n| | pgvigil | postgres_exporter | ratio |%n|---|---|---|---|%n");
            System.out.printf("| time to the first poll / scrape after launch, s | %.2f | %.2f | |%n", firstPoll, exporter.firstScrapeSeconds);
            row("scrape latency p50, ms", pct(pgLatency, 0.5), pct(exLatency, 0.5));
            row("scrape latency p99, ms", pct(pgLatency, 0.99), pct(exLatency, 0.99));
            row("scrape latency max, ms", pct(pgLatency, 1), pct(exLatency, 1));
            row("exposition size, KiB", pgBody.length() / 1024.0, exBody.length() / 1024.0);
            row("series", series(pgBody), series(exBody));
            row("RSS after start, MiB", rssStart, exporter.rssAfterStart);
            System.out.printf("| RSS after %d polls / %d scrapes, MiB | %.1f | %.1f | %.2fx |%n", opt.polls(),
                    exScrapesBefore, rssPolls, exRssBefore, rssPolls / exRssBefore);
            row("RSS after " + opt.scrapes() + " more scrapes, MiB", rssScrapes, exRssScrapes);
            row("RSS peak during them, MiB", Math.max(peak, rssScrapes), Math.max(exPeak, exRssScrapes));
            System.out.printf("%npgvigil's GC pauses during the scrapes (%.0f s): %s%n", scrapesTo - scrapesFrom, pauses);
            System.out.printf("pgvigil's server side (http_server_requests_seconds of /metrics): %s%n", serverSide(pgBody));
            System.out.println("pgvigil's " + floor);
            printThreads(app.pid());
            System.out.printf("%npgvigil JVM options: %s%n", jvm);
        }
    }

    static final Pattern PAUSE = Pattern.compile("^\\[([0-9.]+)s\\].*GC\\(\\d+\\) Pause ([A-Za-z]+(?: [A-Za-z]+)*).* ([0-9.]+)ms$");

    /** Stop-the-world pauses logged by -Xlog:gc between two JVM uptimes: count, by kind, total and longest. */
    static String gcPauses(Path log, double from, double to) throws IOException {
        Map<String, double[]> byKind = new LinkedHashMap<>();
        int all = 0;
        for (String line : Files.readAllLines(log)) {
            Matcher m = PAUSE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            all++;
            double at = Double.parseDouble(m.group(1));
            if (at < from || at > to) {
                continue;
            }
            double[] v = byKind.computeIfAbsent(m.group(2), k -> new double[3]);
            double ms = Double.parseDouble(m.group(3));
            v[0]++;
            v[1] += ms;
            v[2] = Math.max(v[2], ms);
        }
        StringBuilder out = new StringBuilder();
        byKind.forEach((kind, v) -> out.append(String.format("%s%s %.0f (%.0f ms in all, longest %.1f ms)",
                out.length() == 0 ? "" : "; ", kind, v[0], v[1], v[2])));
        return (out.length() == 0 ? "none" : out) + String.format("; %d pauses since launch", all);
    }

    static final Pattern SERVER_SIDE = Pattern.compile("^http_server_requests_seconds_(count|sum|max)\\{[^}]*uri=\"/metrics\"[^}]*\\} (\\S+)$",
            Pattern.MULTILINE);

    /** What Quarkus itself measured of the scrapes: mean and the longest of the last interval, without the client's share. */
    static String serverSide(String metrics) {
        Map<String, Double> v = new HashMap<>();
        Matcher m = SERVER_SIDE.matcher(metrics);
        while (m.find()) {
            v.merge(m.group(1), Double.parseDouble(m.group(2)), Double::sum);
        }
        if (!v.containsKey("count")) {
            return "not exported";
        }
        return String.format("%.0f scrapes, mean %.2f ms, longest recently %.1f ms", v.get("count"),
                v.getOrDefault("sum", 0.0) / v.get("count") * 1000, v.getOrDefault("max", 0.0) * 1000);
    }

    /**
     * Where a scrape's time goes besides rendering: 300 requests of the health endpoint (nearly nothing to
     * render) through the same client, and 300 scrapes timed by curl (time_total) instead of this JVM's client.
     */
    static String httpFloor(int port) throws Exception {
        double[] live = new double[300];
        for (int i = 0; i < live.length; i++) {
            long s = System.nanoTime();
            get(port, "/q/health/live");
            live[i] = (System.nanoTime() - s) / 1e6;
            Thread.sleep(20);
        }
        String out = String.format("HTTP floor: /q/health/live p50 %.1f ms, p99 %.1f ms", pct(live, 0.5), pct(live, 0.99));
        if (Files.isExecutable(Path.of("/usr/bin/curl"))) {
            double[] curl = new double[300];
            for (int i = 0; i < curl.length; i++) {
                curl[i] = Double.parseDouble(exec("curl", "-s", "-o", "/dev/null", "-H", "Accept: " + PackagedApp.PROMETHEUS_ACCEPT,
                        "-w", "%{time_total}", "http://127.0.0.1:" + port + "/metrics").trim()) * 1000;
                Thread.sleep(20);
            }
            out += String.format("; /metrics by curl (a new connection each) p50 %.1f ms, p99 %.1f ms", pct(curl, 0.5),
                    pct(curl, 0.99));
        }
        return out;
    }

    static double pct(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(sorted.length * p))];
    }

    static long series(String body) {
        return body.lines().filter(l -> !l.isEmpty() && !l.startsWith("#")).count();
    }

    static Map<String, String> pgvigilProps(DebianPostgres pg, Options opt, int interval, int visit) {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("pgvigil.target.url", pg.jdbcUrl("postgres"));
        props.put("pgvigil.target.username", PgServer.MONITOR_ROLE);
        props.put("pgvigil.target.password", PgServer.MONITOR_PASSWORD);
        props.put("pgvigil.interval", interval + "s");
        props.put("pgvigil.indexes.interval", visit + "s");
        props.put("pgvigil.statements.text-cache-size", Integer.toString(Math.max(10000, opt.statements() * 2)));
        return props;
    }

    /** The jar with these JVM options; words NAME=VALUE (no leading dash) are environment variables instead. */
    static PackagedApp launch(Map<String, String> props, String jvm) {
        List<String> options = new ArrayList<>();
        Map<String, String> env = new LinkedHashMap<>();
        for (String word : jvm.trim().split("\\s+")) {
            if (!word.startsWith("-") && word.contains("=")) {
                env.put(word.substring(0, word.indexOf('=')), word.substring(word.indexOf('=') + 1));
            } else if (!word.isEmpty()) {
                options.add(word);
            }
        }
        return PackagedApp.start(props, options, env);
    }

    static final Pattern LOG_TIME = Pattern.compile("^(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}) ");

    /** A log line's time (Quarkus' default console format, local time) in seconds after launch. */
    static String sinceLaunch(String line, long launchedAt) {
        Matcher m = LOG_TIME.matcher(line);
        if (!m.find()) {
            return "?";
        }
        long at = java.time.LocalDateTime.parse(m.group(1), java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss,SSS"))
                .atZone(java.time.ZoneId.systemDefault()).toInstant().toEpochMilli();
        return String.format("%.2f s", (at - launchedAt) / 1e3);
    }

    static final Pattern GAUGE = Pattern.compile("^(pgvigil_poll_duration_seconds|pgvigil_collector_duration_seconds|"
            + "pgvigil_database_visit_duration_seconds)(?:\\{\\w+=\"([^\"]*)\",?\\})? (\\S+)$", Pattern.MULTILINE);

    /** The first poll's own gauges: the whole poll, its collectors (the slowest three) and each database visit. */
    static String pollBreakdown(String metrics) {
        if (metrics == null) {
            return "?";
        }
        double poll = 0;
        double collectors = 0;
        Map<String, Double> collector = new HashMap<>();
        StringBuilder visits = new StringBuilder();
        Matcher m = GAUGE.matcher(metrics);
        while (m.find()) {
            double v = Double.parseDouble(m.group(3)) * 1000;
            switch (m.group(1)) {
                case "pgvigil_poll_duration_seconds" -> poll = v;
                case "pgvigil_collector_duration_seconds" -> {
                    collectors += v;
                    collector.put(m.group(2), v);
                }
                default -> visits.append(String.format(" %s %.0f ms", m.group(2), v));
            }
        }
        StringBuilder top = new StringBuilder();
        collector.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).limit(3)
                .forEach(e -> top.append(String.format(" %s %.0f ms", e.getKey(), e.getValue())));
        return String.format("%.0f ms: collectors %.0f ms (%s), visits%s", poll, collectors, top.toString().trim(), visits);
    }

    /** The last /metrics body {@link #awaitPolls} read. */
    static String lastBody;

    static double awaitPolls(PackagedApp app, double polls, long launched) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (System.nanoTime() < deadline) {
            try {
                lastBody = get(app.port(), "/metrics");
                if (pollCount(lastBody) >= polls) {
                    return (System.nanoTime() - launched) / 1e9;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(polls <= 1 ? 20 : 200);
        }
        throw new IllegalStateException("pgvigil did not make " + polls + " polls:\n" + app.output());
    }

    static double pollCount(String metrics) {
        if (metrics == null) {
            return 0;
        }
        Matcher m = POLLS.matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    static String get(int port, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Accept", PackagedApp.PROMETHEUS_ACCEPT).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + path + ": " + r.statusCode());
        }
        return r.body();
    }

    // ---------------------------------------------------------------- the exporter

    static final class Exporter implements AutoCloseable {
        final Process process;
        final int port;
        final Path log;
        double firstScrapeSeconds;
        double rssAfterStart;
        int scrapes;

        private Exporter(Process process, int port, Path log) {
            this.process = process;
            this.port = port;
            this.log = log;
        }

        static Exporter start(DebianPostgres pg, Path work) throws Exception {
            Path queries = work.resolve("queries.yaml");
            Files.writeString(queries, QUERIES_YAML);
            int port;
            try (var socket = new java.net.ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            Path log = work.resolve("exporter.log");
            ProcessBuilder pb = new ProcessBuilder(EXPORTER, "--web.listen-address=127.0.0.1:" + port,
                    "--extend.query-path=" + queries).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("DATA_SOURCE_NAME",
                    "postgresql://exporter:exporter@localhost:" + pg.port() + "/postgres?sslmode=disable");
            long launched = System.nanoTime();
            Exporter e = new Exporter(pb.start(), port, log);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    String body = e.scrape();
                    if (!body.contains("pg_up 1")) {
                        throw new IllegalStateException("the exporter is not up:\n" + Files.readString(log));
                    }
                    break;
                } catch (IOException notYet) {
                    if (System.nanoTime() > deadline || !e.process.isAlive()) {
                        throw new IllegalStateException("the exporter did not answer:\n" + Files.readString(log), notYet);
                    }
                    Thread.sleep(20);
                }
            }
            e.firstScrapeSeconds = (System.nanoTime() - launched) / 1e9;
            e.rssAfterStart = rssMiB(e.pid());
            System.out.printf("postgres_exporter: %s, first scrape %.2f s after launch, RSS %.1f MiB%n",
                    exec(EXPORTER, "--version").lines().findFirst().orElse("?"), e.firstScrapeSeconds, e.rssAfterStart);
            return e;
        }

        String scrape() throws IOException, InterruptedException {
            String body = get(port, "/metrics");
            scrapes++;
            return body;
        }

        long pid() {
            return process.pid();
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor(20, TimeUnit.SECONDS);
        }
    }

    // ---------------------------------------------------------------- /proc

    static long postmaster(DebianPostgres pg) throws IOException {
        return Long.parseLong(Files.readAllLines(pg.dataDirectory().resolve("postmaster.pid")).get(0).trim());
    }

    /** Fields of /proc/PID/stat after the command name: index 0 is field 3 (state). */
    static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return s.substring(s.lastIndexOf(')') + 2).split(" ");
        } catch (IOException gone) {
            return null;
        }
    }

    /** utime + stime + cutime + cstime of one process (all its threads), in clock ticks. */
    static long processTicks(long pid) {
        String[] f = stat(pid);
        return f == null ? 0 : Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }

    /**
     * The PostgreSQL process tree: utime + stime of every live descendant of the postmaster, plus the
     * postmaster's own and its reaped children's (cutime + cstime).
     */
    static long treeTicks(long postmaster) throws IOException {
        Map<Long, Long> parent = new HashMap<>();
        Map<Long, Long> ticks = new HashMap<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) dirs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(name);
                String[] f = stat(pid);
                if (f != null) {
                    parent.put(pid, Long.parseLong(f[1]));
                    ticks.put(pid, Long.parseLong(f[11]) + Long.parseLong(f[12]));
                }
            }
        }
        Set<Long> tree = new HashSet<>();
        tree.add(postmaster);
        boolean grew = true;
        while (grew) {
            grew = false;
            for (var e : parent.entrySet()) {
                if (!tree.contains(e.getKey()) && tree.contains(e.getValue())) {
                    tree.add(e.getKey());
                    grew = true;
                }
            }
        }
        long sum = 0;
        for (long pid : tree) {
            sum += ticks.getOrDefault(pid, 0L);
        }
        String[] f = stat(postmaster);
        return sum + Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }

    /** pgvigil's threads by CPU since launch (names cut by the kernel to 15 characters), grouped by name. */
    static void printThreads(long pid) throws IOException {
        Map<String, long[]> byName = new LinkedHashMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String raw = Files.readString(task.resolve("stat"));
                String name = raw.substring(raw.indexOf('(') + 1, raw.lastIndexOf(')')).replaceAll("[0-9]+$", "#");
                String[] f = raw.substring(raw.lastIndexOf(')') + 2).split(" ");
                long[] v = byName.computeIfAbsent(name, n -> new long[2]);
                v[0]++;
                v[1] += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
        }
        long total = byName.values().stream().mapToLong(v -> v[1]).sum();
        String heap = "";
        try {
            heap = exec("jcmd", Long.toString(pid), "GC.heap_info");
        } catch (Exception ignored) {
            // jcmd missing
        }
        heap.lines().filter(l -> l.contains("total") || l.contains("Metaspace")).forEach(l -> System.out.println("  " + l.trim()));
        String nmt = "";
        try {
            nmt = exec("jcmd", Long.toString(pid), "VM.native_memory", "summary", "scale=MB");
        } catch (Exception ignored) {
            // jcmd missing
        }
        if (nmt.contains("Total: reserved")) {
            System.out.println("\nNative memory tracking (committed, MiB):");
            nmt.lines().filter(l -> l.matches("^(Total|-\\s+\\S.*)\\(reserved.*") || l.startsWith("Total"))
                    .forEach(l -> System.out.println("  " + l.trim()));
        }
        System.out.printf("%npgvigil threads: %d; CPU since launch %.0f ms, by thread name:%n",
                byName.values().stream().mapToLong(v -> v[0]).sum(), ticksToMs(total));
        byName.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1])).limit(12)
                .forEach(e -> System.out.printf("  %-20s x%-3d %8.0f ms%n", e.getKey(), e.getValue()[0], ticksToMs(e.getValue()[1])));
    }

    static double ticksToMs(long ticks) {
        return ticks * 1000.0 / clockTicks;
    }

    static double rssMiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        return -1;
    }

    static void signal(long pid, String signal) throws Exception {
        exec("kill", "-" + signal, Long.toString(pid));
    }

    static void sleepUntil(long nanoTime) throws InterruptedException {
        long wait = nanoTime - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    static String exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    static long count(DebianPostgres pg, String database, String sql) throws Exception {
        try (Connection c = pg.connect(database); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
