package io.pgvigil.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.core.util.Separators.Spacing;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import io.pgvigil.core.Catalog;
import io.pgvigil.core.Check;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.target.ServerInfo;

/**
 * Real polls, recorded once from the matrix tests and replayed without a server. With
 * {@code -Dpgtest.record=true}, every {@link TestMonitor#poll()} writes what its collectors produced
 * (the {@link Snapshot}: the server, each collector's result record, the database visits) and how each
 * collector fared to {@code src/test/resources/recorded/<TestClass>.<testMethod>/<major>/poll-<n>.json}
 * (a second monitor of the same test writes to {@code <major>-2/}). Unit tests read them back into real
 * {@code Snapshot}s with {@link #polls} and run the real checks, findings engine and publisher on them.
 *
 * <p>The results map is keyed by the result record's class name, which is all Jackson needs to read
 * each value back into its record; nothing in main code is annotated for this. What equals the
 * previous poll's (the server, the database visits between two rounds, each statement that did not
 * run) is written as {@value #UNCHANGED}: a file holds what changed since the one before. Every file
 * is read back as it is written and must give the same snapshot. Unknown fields fail the read: a record that changed shape
 * means the recordings must be made again (DEVELOPERS.md says how).
 */
public final class Recordings {

    public static final String PROPERTY = "pgtest.record";
    /**
     * Where recordings are written and read (not from the class path: a copy in target/test-classes
     * keeps polls that were deleted here).
     */
    static final Path ROOT = Path.of("src/test/resources/recorded");

    static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** Written for an object, a list or a row of a list equal to the one at the same place in the previous poll. */
    static final String UNCHANGED = "unchanged";

    /** Monitors that recorded so far, per test and major: the second one of a test gets its own folder. */
    private static final Map<String, Integer> MONITORS = new ConcurrentHashMap<>();

    private Recordings() {
    }

    /**
     * One recorded poll.
     *
     * @param snapshot        what the collectors produced, as {@code core.Monitor} built it
     * @param collectors      how each collector fared
     * @param durationSeconds how long the poll took
     * @param error           why the target could not be polled, null when it was
     */
    public record Poll(Snapshot snapshot, List<CollectorStatus> collectors, double durationSeconds, String error) {

        /** The same poll, as if its snapshot had been taken at {@code at}: a later poll that saw no change. */
        public Poll at(Instant at) {
            return new Poll(new Snapshot(at, snapshot.server(), snapshot.results()), collectors, durationSeconds, error);
        }

        public <T> T get(Class<T> type) {
            return snapshot.get(type).orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " recorded"));
        }

        /** The queryid pg_stat_statements gave a normalized text, as pgvigil recorded it. */
        public long queryid(String text) {
            List<Long> ids = get(Statements.class).entries().stream().filter(e -> text.equals(e.text()))
                    .map(Statement::queryid).distinct().toList();
            if (ids.size() != 1) {
                throw new AssertionError(ids.size() + " queryids for " + text);
            }
            return ids.get(0);
        }

        /** The entry of {@code queryid} (one database, one role, top level), as recorded in this poll. */
        public Statement statement(long queryid) {
            List<Statement> entries = get(Statements.class).entries().stream().filter(e -> e.queryid() == queryid)
                    .toList();
            if (entries.size() != 1) {
                throw new AssertionError(entries.size() + " entries for queryid " + queryid);
            }
            return entries.get(0);
        }
    }

    /**
     * What {@code check} says of each poll in turn, with the window from the previous poll that reached
     * the target (none for the first), as the monitor feeds it; checks that keep history see it all.
     * Fails when the check cannot be evaluated (its inputs were not recorded).
     */
    public static List<List<Evaluation>> judge(Check check, List<Poll> polls) {
        List<List<Evaluation>> verdicts = new ArrayList<>();
        Snapshot previous = null;
        for (Poll poll : polls) {
            verdicts.add(check.evaluate(poll.snapshot(), Window.between(previous, poll.snapshot()))
                    .orElseThrow(() -> new AssertionError(check.id() + " has no inputs at " + poll.snapshot().at())));
            if (poll.snapshot().up()) {
                previous = poll.snapshot();
            }
        }
        return verdicts;
    }

    /**
     * {@code poll} taken {@code later}, with the statement {@code queryid} having run {@code calls} more
     * times returning {@code rows} more rows (0.1 ms each): a statement that went on running alone.
     */
    public static Poll ran(Poll poll, long queryid, long calls, long rows, java.time.Duration later) {
        Statements statements = poll.get(Statements.class);
        List<Statement> entries = statements.entries().stream().map(e -> e.queryid() != queryid ? e
                : new Statement(e.queryid(), e.dbid(), e.datname(), e.userid(), e.user(), e.toplevel(), e.calls() + calls,
                        e.execSeconds() + 0.0001 * calls, e.planSeconds(), e.rows() + rows, e.sharedBlksHit(), e.sharedBlksRead(),
                        e.tempBlksWritten(), e.statsSinceSeconds(), e.text()))
                .toList();
        Map<Class<?>, Object> results = new HashMap<>(poll.snapshot().results());
        results.put(Statements.class, new Statements(entries, statements.deallocations(), statements.statsResetSeconds(),
                statements.textFetches(), statements.blockSize(), statements.ownEntries()));
        return new Poll(new Snapshot(poll.snapshot().at().plus(later), poll.snapshot().server(), results), poll.collectors(),
                poll.durationSeconds(), poll.error());
    }

    /**
     * The polls as if each had been taken {@code step} after the one before it (counters unchanged): a
     * recording made without moving the monitor's clock, seen at a poll interval.
     */
    public static List<Poll> every(List<Poll> polls, java.time.Duration step) {
        List<Poll> out = new ArrayList<>();
        for (int i = 0; i < polls.size(); i++) {
            out.add(polls.get(i).at(polls.get(0).snapshot().at().plus(step.multipliedBy(i))));
        }
        return out;
    }

    /** The verdict on {@code subject} in {@code evaluations}, failing when there is none. */
    public static Evaluation on(String subject, List<Evaluation> evaluations) {
        List<Evaluation> on = evaluations.stream().filter(e -> e.subject().equals(subject)).toList();
        if (on.size() != 1) {
            throw new AssertionError(on.size() + " evaluations of " + subject + " in " + evaluations);
        }
        return on.get(0);
    }

    /** The check of the catalog, built from the configuration's defaults plus {@code key, value} overrides. */
    public static Check check(String id, String... keyValues) {
        Map<String, String> props = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        return Catalog.check(id).orElseThrow().factory().apply(TestConfig.of(props));
    }

    /** The JSON form: the results map keyed by the class name of each result record. */
    private record Stored(Instant at, ServerInfo server, Map<String, JsonNode> results,
            List<CollectorStatus> collectors, double durationSeconds, String error) {
    }

    /** Every recorded poll of {@code test} ({@code Class.method}) on {@code major}, in order. */
    public static List<Poll> polls(String test, String major) {
        List<Poll> polls = new ArrayList<>();
        JsonNode previous = null;
        for (int n = 1;; n++) {
            Path file = ROOT.resolve(test).resolve(major).resolve("poll-" + n + ".json");
            if (!Files.exists(file)) {
                break;
            }
            try {
                previous = resolve(JSON.readTree(file.toFile()), previous);
                polls.add(read(previous));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            }
        }
        if (polls.isEmpty()) {
            throw new IllegalArgumentException("no recording of " + test + " on " + major + " in " + ROOT);
        }
        return polls;
    }

    public static List<Poll> polls(String test, int major) {
        return polls(test, Integer.toString(major));
    }

    /** One poll from its whole JSON document. */
    private static Poll read(JsonNode document) throws IOException {
        Stored stored = JSON.treeToValue(document, Stored.class);
        Map<Class<?>, Object> results = new HashMap<>();
        for (Map.Entry<String, JsonNode> result : stored.results().entrySet()) {
            try {
                Class<?> type = Class.forName(result.getKey());
                results.put(type, JSON.treeToValue(result.getValue(), type));
            } catch (ClassNotFoundException | IOException e) {
                throw new IllegalStateException("recorded result " + result.getKey() + " cannot be read back: "
                        + e.getMessage() + "; record again (DEVELOPERS.md)", e);
            }
        }
        return new Poll(new Snapshot(stored.at(), stored.server(), results), stored.collectors(),
                stored.durationSeconds(), stored.error());
    }

    /**
     * A poll's document as written: an object or a list equal to the one at the same place in the
     * previous poll's becomes {@value #UNCHANGED}, and so does each row of a list equal to the row at
     * the same index (a row that changed is written whole). Values that are not objects or lists, and
     * empty ones, are always written.
     */
    static JsonNode marked(JsonNode node, JsonNode before) {
        if (before == null || node.getNodeType() != before.getNodeType() || !node.isContainerNode()
                || node.isEmpty()) {
            return node;
        }
        if (node.equals(before)) {
            return TextNode.valueOf(UNCHANGED);
        }
        if (node.isObject()) {
            ObjectNode marked = JSON.createObjectNode();
            node.properties().forEach(field -> marked.set(field.getKey(), marked(field.getValue(),
                    before.get(field.getKey()))));
            return marked;
        }
        ArrayNode marked = JSON.createArrayNode();
        for (int i = 0; i < node.size(); i++) {
            JsonNode row = node.get(i);
            marked.add(row.isContainerNode() && !row.isEmpty() && row.equals(before.get(i)) ? TextNode.valueOf(UNCHANGED)
                    : row);
        }
        return marked;
    }

    /** The inverse of {@link #marked}: the whole document, given the previous poll's whole document. */
    static JsonNode resolve(JsonNode node, JsonNode before) {
        if (before != null && before.isContainerNode() && isUnchanged(node)) {
            return before;
        }
        if (node.isObject()) {
            ObjectNode resolved = JSON.createObjectNode();
            node.properties().forEach(field -> resolved.set(field.getKey(), resolve(field.getValue(),
                    before == null ? null : before.get(field.getKey()))));
            return resolved;
        }
        if (node.isArray()) {
            ArrayNode resolved = JSON.createArrayNode();
            for (int i = 0; i < node.size(); i++) {
                JsonNode row = node.get(i);
                JsonNode earlier = before == null ? null : before.get(i);
                resolved.add(earlier != null && earlier.isContainerNode() && isUnchanged(row) ? earlier : row);
            }
            return resolved;
        }
        return node;
    }

    private static boolean isUnchanged(JsonNode node) {
        return node.isTextual() && node.asText().equals(UNCHANGED);
    }

    /** A recorder for one monitor; does nothing unless {@code -Dpgtest.record=true}. */
    static Recorder recorder() {
        return Boolean.getBoolean(PROPERTY) ? new Recorder() : new Recorder() {
            @Override
            void record(PollState state) {
            }
        };
    }

    /**
     * Writes one monitor's polls, numbered from 1, into the folder of the test that polls. A folder
     * that already holds polls gets as many again and no more, so that a refresh stays as trimmed as
     * the recording it replaces; a new folder gets every poll.
     */
    static class Recorder {
        private Path folder;
        private int limit;
        private int polls;
        /** The previous poll's whole document, before marking, and as read back from its file. */
        private JsonNode written;
        private JsonNode readBack;

        void record(PollState state) {
            try {
                if (folder == null) {
                    folder = folder(state);
                }
                if (polls == limit) {
                    return;
                }
                Snapshot s = state.snapshot();
                Map<String, JsonNode> results = new TreeMap<>();
                s.results().forEach((type, value) -> results.put(type.getName(), JSON.valueToTree(value)));
                JsonNode document = JSON.valueToTree(new Stored(s.at(), s.server(), results, state.collectors(),
                        state.durationSeconds(), state.error()));
                Path file = folder.resolve("poll-" + ++polls + ".json");
                JSON.writer(new DefaultPrettyPrinter()
                        .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Spacing.AFTER))
                        .withObjectIndenter(LinePerElement.INSTANCE).withArrayIndenter(LinePerElement.INSTANCE))
                        .writeValue(file.toFile(), marked(document, written));
                written = document;
                // A record Jackson cannot give back as it was would make every replay of it wrong: fail now.
                readBack = resolve(JSON.readTree(file.toFile()), readBack);
                if (!read(readBack).snapshot().equals(s)) {
                    throw new IllegalStateException(file + " does not read back as the snapshot it was written from");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The test's folder, emptied of the polls of an earlier run (whose count becomes the limit). */
        private Path folder(PollState state) throws IOException {
            String test = testName();
            String major = state.up() ? Integer.toString(state.snapshot().server().major()) : "down";
            int monitor = MONITORS.merge(test + "/" + major, 1, Integer::sum);
            Path folder = ROOT.resolve(test).resolve(monitor == 1 ? major : major + "-" + monitor);
            Files.createDirectories(folder);
            try (Stream<Path> old = Files.list(folder)) {
                List<Path> earlier = old.filter(p -> p.getFileName().toString().matches("poll-\\d+\\.json")).toList();
                limit = earlier.isEmpty() ? Integer.MAX_VALUE : earlier.size();
                for (Path p : earlier) {
                    Files.delete(p);
                }
            }
            return folder;
        }

        /** {@code Class.method} of the test running: the outermost pgvigil frame that is not test support. */
        private static String testName() {
            return StackWalker.getInstance().walk(frames -> frames
                    .filter(f -> f.getClassName().startsWith("io.pgvigil.")
                            && !f.getClassName().startsWith("io.pgvigil.testing.")
                            && !f.getMethodName().startsWith("lambda$"))
                    .reduce((inner, outer) -> outer)
                    .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName())
                    .orElse("unknown"));
        }
    }

    /**
     * Indents like Jackson's default printer down to the first array, whose elements get a line each;
     * everything inside an element stays on that line: one row (a statement, an index, a backend) per
     * line, which keeps the files small and readable.
     */
    private enum LinePerElement implements DefaultPrettyPrinter.Indenter {
        INSTANCE;

        @Override
        public void writeIndentation(JsonGenerator g, int level) throws IOException {
            for (JsonStreamContext c = g.getOutputContext().getParent(); c != null; c = c.getParent()) {
                if (c.inArray()) {
                    g.writeRaw(' ');
                    return;
                }
            }
            DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.writeIndentation(g, level);
        }

        @Override
        public boolean isInline() {
            return false;
        }
    }
}
