package io.pgvigil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.statements.NPlusOneCheck;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.testing.TestConfig;

/**
 * What {@code n_plus_one} costs the JVM per poll with a full pg_stat_statements: 5,000 statements in
 * 5 databases, the check's whole {@code evaluate} (the window's history updated, statements that left
 * forgotten, every database matched, the verdicts built) timed per poll, wall and thread CPU, at a 2 s
 * interval (30 intervals in the one-minute window: the most history) and at 15 s (8 intervals in the
 * 2-minute window). The traffic: in each database 5 one-to-many loops and 5 lookup loops (an identity
 * map) that run every 4 s (3 or 4 times in a 15 s interval, once in every other 2 s one), 10 % (a long
 * tail, as pg_stat_statements usually is) or 40 % (a stress case) of the statements busy, running every
 * poll at independent random rates (1-200 calls), the rest now and then; a third of the busy ones
 * return lists (2-101 rows a call), a third one row a call, a third are writes. Seeded, so runs compare. No server: the check reads only the snapshot and window.
 * Not a test: run {@code bench/run.sh NPlusOneBench [statements] [polls]}.
 */
public final class NPlusOneBench {

    public static void main(String[] args) {
        int statements = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        int polls = args.length > 1 ? Integer.parseInt(args[1]) : 600;
        for (double busy : new double[] { 0.1, 0.4 }) {
            for (int interval : new int[] { 2, 15 }) {
                run(statements, polls, interval, busy);
            }
        }
    }

    private static void run(int n, int polls, int interval, double busy) {
        var config = TestConfig.of(Map.of("pgvigil.target.url", "jdbc:postgresql://localhost:5432/postgres",
                "pgvigil.interval", interval + "s"));
        NPlusOneCheck check = new NPlusOneCheck(config);
        Random random = new Random(15);
        List<Statement> entries = new ArrayList<>(n);
        int[] kind = new int[n]; // 0 idle-ish, 1 busy lookup, 2 busy list, 3 busy write, 4 loop parent, 5 loop child (one-to-many), 6 lookup parent, 7 lookup child
        for (int i = 0; i < n; i++) {
            long db = 16384 + i % 5;
            int slot = i / 5;
            kind[i] = slot < 10 ? (slot % 2 == 0 ? 4 : 5) : slot < 20 ? (slot % 2 == 0 ? 6 : 7)
                    : random.nextDouble() < busy ? 1 + random.nextInt(3) : 0;
            String text = switch (kind[i]) {
                case 2, 4, 6 -> "SELECT id, name FROM list_" + i + " WHERE owner = $1 ORDER BY id";
                case 3 -> "UPDATE t_" + i + " SET v = $1 WHERE id = $2";
                default -> "SELECT id, name FROM t_" + i + " WHERE id = $1";
            };
            entries.add(new Statement(1_000_000L + i * 7919L, db, "db" + (i % 5), 10, "app", true, 0, 0, 0, 0, 0, 0, 0,
                    null, text));
        }
        Statements all = new Statements(entries, 0L, null, 0, 8192, 0);
        ServerInfo server = null;
        Instant t0 = Instant.parse("2026-12-02T00:00:00Z");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double windowSeconds = Math.max(60, 8 * interval);
        io.pgvigil.statements.NPlusOneHistory history = new io.pgvigil.statements.NPlusOneHistory(windowSeconds);
        io.pgvigil.statements.NPlusOneMatcher matcher = new io.pgvigil.statements.NPlusOneMatcher(
                new io.pgvigil.statements.NPlusOneMatcher.Settings(20, 3, 0.8, 0.1, 1.25), (int) (windowSeconds / interval));
        double[] addMs = new double[polls];
        double[] matchMs = new double[polls];
        int matches = 0;
        double[] wall = new double[polls];
        double[] cpu = new double[polls];
        int found = 0;
        int chance = 0;
        java.util.Set<String> everChance = new java.util.HashSet<>();
        int lookups = 0;
        int deltasPerPoll = 0;
        for (int p = 0; p < polls + 50; p++) {
            List<Window.StatementDelta> deltas = new ArrayList<>();
            // Every 4 s of time: 3 or 4 runs in a 15 s interval, one in every other 2 s interval.
            int loopRuns = (int) ((long) interval * (p + 1) / 4 - (long) interval * p / 4);
            boolean loopsRun = loopRuns > 0;
            for (int i = 0; i < n; i++) {
                Statement s = entries.get(i);
                long calls;
                long rows;
                switch (kind[i]) {
                    case 4, 6 -> { calls = loopsRun ? loopRuns : 0; rows = calls * 20; }
                    case 5 -> { calls = loopsRun ? loopRuns * 20L : 0; rows = calls * 3; }
                    case 7 -> { calls = loopsRun ? loopRuns * 9L : 0; rows = calls; }
                    case 1 -> { calls = 1 + random.nextInt(200); rows = calls; }
                    case 2 -> { calls = 1 + random.nextInt(50); rows = calls * (2 + random.nextInt(100)); }
                    case 3 -> { calls = 1 + random.nextInt(100); rows = calls; }
                    default -> { calls = random.nextInt(20) == 0 ? 1 + random.nextInt(5) : 0; rows = calls * random.nextInt(3); }
                }
                if (calls > 0) {
                    deltas.add(new Window.StatementDelta(s, calls, calls * 0.0002, 0, rows, calls * 4, 0, 0));
                }
            }
            deltasPerPoll = deltas.size();
            Snapshot snapshot = new Snapshot(t0.plusSeconds((long) interval * (p + 1)), server, Map.of(Statements.class, all));
            Window window = new Window(interval, Map.of(), Set.of(), deltas, 0);
            List<io.pgvigil.statements.NPlusOneHistory.Delta> plain = new ArrayList<>(deltas.size());
            for (Window.StatementDelta d : deltas) {
                plain.add(new io.pgvigil.statements.NPlusOneHistory.Delta(d.statement().dbid(), d.statement().datname(),
                        d.statement().queryid(), d.statement().text(), d.calls(), d.rows(), d.execSeconds()));
            }
            long a0 = System.nanoTime();
            history.add(interval * (p + 1.0), interval, plain);
            long a1 = System.nanoTime();
            matches = matcher.match(history).size();
            long a2 = System.nanoTime();
            if (p >= 50) {
                addMs[p - 50] = (a1 - a0) / 1e6;
                matchMs[p - 50] = (a2 - a1) / 1e6;
            }
            long w = System.nanoTime();
            long c = threads.getCurrentThreadCpuTime();
            List<Evaluation> verdicts = check.evaluate(snapshot, window).orElseThrow();
            if (p >= 50) {
                cpu[p - 50] = (threads.getCurrentThreadCpuTime() - c) / 1e6;
                wall[p - 50] = (System.nanoTime() - w) / 1e6;
            }
            {
                found = 0;
                chance = 0;
                lookups = 0;
                for (Evaluation e : verdicts) {
                    if (e.severity() != null) {
                        int i = (int) ((Long.parseLong(e.subject()) - 1_000_000L) / 7919L);
                        if (kind[i] == 5 || kind[i] == 7) {
                            found++;
                            lookups += kind[i] == 7 ? 1 : 0;
                        } else {
                            chance++;
                            everChance.add(e.subject());
                        }
                    }
                }
            }
        }
        Arrays.sort(wall);
        Arrays.sort(addMs);
        Arrays.sort(matchMs);
        Arrays.sort(cpu);
        System.out.printf("%d statements in 5 databases, %.0f %% busy, %d s interval (%d intervals in the %.0f s window), %d ran per poll,"
                + " %d polls measured after 50 of warm-up%n", n, busy * 100, interval, (int) (windowSeconds / interval), windowSeconds, deltasPerPoll, polls);
        System.out.printf("  n_plus_one evaluate, JVM wall: median %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms%n",
                wall[polls / 2], wall[polls * 9 / 10], wall[polls * 99 / 100], wall[polls - 1]);
        System.out.printf("  n_plus_one evaluate, thread CPU: median %.3f ms, p99 %.3f ms%n", cpu[polls / 2],
                cpu[polls * 99 / 100]);
        System.out.printf("  of which (measured apart) history update: median %.3f ms; matching: median %.3f ms, p99 %.3f ms (%d matches)%n",
                addMs[polls / 2], matchMs[polls / 2], matchMs[polls * 99 / 100], matches);
        System.out.printf("  open in the last poll: %d of the 50 planted loops' children (%d of the 25 lookups), %d other statements;"
                + " other statements open at any poll (warm-up included): %d%n", found, lookups, chance, everChance.size());
    }
}
