package io.pgvigil.statements.orm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.pgvigil.core.Window;
import io.pgvigil.statements.NPlusOneHistory;
import io.pgvigil.statements.StatStatementsCollector.Statement;

/**
 * The per-interval deltas of top-level statements, as n_plus_one sees them, recorded from real runs
 * (with {@code -Dpgtest.record=true}) to {@code src/test/resources/recorded/n_plus_one/<name>.tsv}
 * and read back by the server-free matcher tests. One line per poll ({@code poll <end> <seconds>},
 * seconds since the first poll), one per statement that ran ({@code d <dbid> <datname> <queryid>
 * <calls> <rows> <exec seconds>}), and each statement's redacted text once ({@code text <queryid> <text>}).
 */
public final class IntervalRecording {

    public static final Path ROOT = Path.of("src/test/resources/recorded/n_plus_one");

    /** One recorded poll. */
    public record Interval(double end, double seconds, List<NPlusOneHistory.Delta> deltas) {
    }

    private final Path file;
    private final Set<String> databases;
    private final StringBuilder out = new StringBuilder();
    private final Set<Long> texts = new HashSet<>();
    private Double origin;

    /** A recorder of the given databases' statements, or null when not recording. */
    public static IntervalRecording recorder(String name, Set<String> databases) {
        return Boolean.getBoolean("pgtest.record") ? new IntervalRecording(ROOT.resolve(name + ".tsv"), databases) : null;
    }

    private IntervalRecording(Path file, Set<String> databases) {
        this.file = file;
        this.databases = databases;
    }

    public void record(double at, Window window) {
        if (origin == null) {
            origin = at;
        }
        out.append(String.format(Locale.ROOT, "poll\t%.3f\t%.3f%n", at - origin, window.seconds()));
        Map<List<Long>, long[]> counts = new LinkedHashMap<>();
        Map<List<Long>, Double> exec = new LinkedHashMap<>();
        Map<List<Long>, Statement> first = new LinkedHashMap<>();
        for (Window.StatementDelta d : window.statements()) {
            Statement s = d.statement();
            if (!s.toplevel() || !databases.contains(s.datname())) {
                continue;
            }
            List<Long> key = List.of(s.dbid(), s.queryid());
            long[] c = counts.computeIfAbsent(key, k -> new long[2]);
            c[0] += d.calls();
            c[1] += d.rows();
            exec.merge(key, d.execSeconds(), Double::sum);
            first.putIfAbsent(key, s);
            if (s.text() != null && texts.add(s.queryid())) {
                out.append("text\t").append(s.queryid()).append('\t').append(s.text().replace('\t', ' ').replace('\n', ' '))
                        .append('\n');
            }
        }
        counts.forEach((key, c) -> out.append(String.format(Locale.ROOT, "d\t%d\t%s\t%d\t%d\t%d\t%.6f%n", key.get(0),
                first.get(key).datname(), key.get(1), c[0], c[1], exec.get(key))));
    }

    public void write() {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a recording back. */
    public static List<Interval> read(String name) {
        try {
            List<Interval> polls = new ArrayList<>();
            Map<Long, String> text = new LinkedHashMap<>();
            List<String[]> pending = new ArrayList<>();
            double end = 0;
            double seconds = 0;
            boolean any = false;
            for (String line : Files.readAllLines(ROOT.resolve(name + ".tsv"))) {
                String[] f = line.split("\t", -1);
                switch (f[0]) {
                    case "text" -> text.put(Long.parseLong(f[1]), f[2]);
                    case "d" -> pending.add(f);
                    case "poll" -> {
                        if (any) {
                            polls.add(interval(end, seconds, pending, text));
                        }
                        pending = new ArrayList<>();
                        end = Double.parseDouble(f[1]);
                        seconds = Double.parseDouble(f[2]);
                        any = true;
                    }
                    default -> throw new IllegalStateException("unknown line in " + name + ": " + line);
                }
            }
            if (any) {
                polls.add(interval(end, seconds, pending, text));
            }
            return polls;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Interval interval(double end, double seconds, List<String[]> lines, Map<Long, String> text) {
        List<NPlusOneHistory.Delta> deltas = new ArrayList<>();
        for (String[] f : lines) {
            long queryid = Long.parseLong(f[3]);
            deltas.add(new NPlusOneHistory.Delta(Long.parseLong(f[1]), f[2], queryid, text.get(queryid),
                    Long.parseLong(f[4]), Long.parseLong(f[5]), Double.parseDouble(f[6])));
        }
        return new Interval(end, seconds, deltas);
    }
}
