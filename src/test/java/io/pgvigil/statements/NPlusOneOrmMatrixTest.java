package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import jakarta.persistence.EntityGraph;
import jakarta.persistence.EntityManager;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Finding;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.statements.orm.Entities.Customer;
import io.pgvigil.statements.orm.Entities.Invoice;
import io.pgvigil.statements.orm.Entities.Project;
import io.pgvigil.statements.orm.Entities.Purchase;
import io.pgvigil.statements.orm.Entities.Task;
import io.pgvigil.statements.orm.Entities.TaskComment;
import io.pgvigil.statements.orm.IntervalRecording;
import io.pgvigil.statements.orm.OrmApp;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * {@code n_plus_one} on the traffic of a real ORM: Hibernate ORM over real PostgreSQL 13-18, lazy
 * associations, no batch fetching, one persistence context per request, driven between polls while
 * the monitor's clock moves on (one request per {@code period} seconds of that clock), at the default
 * 15 s interval and at 2 s. Each scenario runs its N+1 version in one database and its fixed versions
 * (JOIN FETCH, an entity graph, batch fetching) in others, for 150 s, then nothing until every
 * finding has cleared. Every loop must be flagged within two minutes with its child and all its
 * parents, open once and clear once after the traffic stops; the fixed versions never.
 */
class NPlusOneOrmMatrixTest {

    static final int TRAFFIC_SECONDS = 150;
    static final Map<String, String> BATCH = Map.of("hibernate.default_batch_fetch_size", "16");

    /** How a statement of the scenario is recognised in Hibernate's SQL (lower case, redacted). */
    record Shape(String name, Pattern sql) {
        static Shape of(String name, String regex) {
            return new Shape(name, Pattern.compile(regex));
        }
    }

    /** A version of a page: its persistence unit properties and one request. */
    record Version(String database, Map<String, String> properties, Consumer<EntityManager> request) {
    }

    static final Shape CUSTOMERS = Shape.of("customers", "^select .* from customer \\w+ order by");
    static final Shape INVOICES = Shape.of("invoices of a customer", "^select .* from invoice \\w+ where \\w+\\.customer_id=\\$1");
    static final Shape PURCHASES = Shape.of("purchases", "^select .* from purchase \\w+ order by");
    static final Shape USER = Shape.of("user by id", "^select .* from app_user \\w+ where \\w+\\.id=\\$1$");
    static final Shape TASKS = Shape.of("tasks of a project", "^select .* from task \\w+ where \\w+\\.project_id=\\$1");
    static final Shape COMMENTS = Shape.of("comments of a task", "^select .* from task_comment \\w+ where \\w+\\.task_id=\\$1");

    /** The list page: 20 customers, then each one's invoices. */
    static void customersPage(EntityManager em) {
        for (Customer c : em.createQuery("select c from Customer c order by c.id", Customer.class).setMaxResults(20)
                .getResultList()) {
            c.getInvoices().forEach(Invoice::getCents);
        }
    }

    static void customersPageJoinFetch(EntityManager em) {
        for (Customer c : em.createQuery("select distinct c from Customer c left join fetch c.invoices where c.id <= 20"
                + " order by c.id", Customer.class).getResultList()) {
            c.getInvoices().forEach(Invoice::getCents);
        }
    }

    /** 400 purchases and each one's user: the identity map fetches each distinct user once. */
    static void purchasesPage(EntityManager em) {
        for (Purchase p : em.createQuery("select p from Purchase p order by p.id", Purchase.class).getResultList()) {
            p.getUser().getName();
        }
    }

    static void purchasesPageEntityGraph(EntityManager em) {
        EntityGraph<Purchase> graph = em.createEntityGraph(Purchase.class);
        graph.addAttributeNodes("user");
        for (Purchase p : em.createQuery("select p from Purchase p order by p.id", Purchase.class)
                .setHint("jakarta.persistence.fetchgraph", graph).getResultList()) {
            p.getUser().getName();
        }
    }

    private static int dashboards;

    /** A project's dashboard: its tasks, each task's assignee and comments, each comment's author. */
    static void dashboard(EntityManager em) {
        Project project = em.find(Project.class, (long) (dashboards++ % 5 + 1));
        for (Task t : project.getTasks()) {
            t.getAssignee().getName();
            for (TaskComment c : t.getComments()) {
                c.getAuthor().getName();
            }
        }
    }

    static Stream<Arguments> majorsAndIntervals() {
        return PgServer.majorsStream().flatMap(major -> Stream.of(Arguments.of(major, 15), Arguments.of(major, 2)));
    }

    @ParameterizedTest(name = "PostgreSQL {0}, {1} s interval")
    @MethodSource("majorsAndIntervals")
    void aListPageLoadingALazyOneToManyPerRowIsFlaggedAndItsFixesAreNot(int major, int interval) throws Exception {
        run(major, interval, "list_page", 4, List.of(
                new Version("list_n1", Map.of(), NPlusOneOrmMatrixTest::customersPage),
                new Version("list_join_fetch", Map.of(), NPlusOneOrmMatrixTest::customersPageJoinFetch),
                new Version("list_batch", BATCH, NPlusOneOrmMatrixTest::customersPage)),
                Map.of(INVOICES, Set.of(CUSTOMERS)));
    }

    @ParameterizedTest(name = "PostgreSQL {0}, {1} s interval")
    @MethodSource("majorsAndIntervals")
    void aLazyManyToOneOverRowsSharingParentsIsFlaggedThroughTheIdentityMap(int major, int interval) throws Exception {
        run(major, interval, "identity_map", 4, List.of(
                new Version("orders_n1", Map.of(), NPlusOneOrmMatrixTest::purchasesPage),
                new Version("orders_graph", Map.of(), NPlusOneOrmMatrixTest::purchasesPageEntityGraph),
                new Version("orders_batch", BATCH, NPlusOneOrmMatrixTest::purchasesPage)),
                Map.of(USER, Set.of(PURCHASES)));
    }

    @ParameterizedTest(name = "PostgreSQL {0}, {1} s interval")
    @MethodSource("majorsAndIntervals")
    void aSlowNestedDashboardIsFlaggedAtEachLevelAndTheSharedLookupNamesBothLoops(int major, int interval)
            throws Exception {
        run(major, interval, "dashboard", 10, List.of(
                new Version("dashboard_n1", Map.of(), NPlusOneOrmMatrixTest::dashboard),
                new Version("dashboard_batch", BATCH, NPlusOneOrmMatrixTest::dashboard)),
                Map.of(COMMENTS, Set.of(TASKS), USER, Set.of(TASKS, COMMENTS)));
    }

    /**
     * Drives the versions (the first is the N+1 one) every {@code period} seconds of the monitor's
     * clock for {@link #TRAFFIC_SECONDS}, polling every {@code interval}, then only polls until a
     * whole window, the hold after it and 20 held intervals have passed.
     */
    private static void run(int major, int interval, String scenario, int period, List<Version> versions,
            Map<Shape, Set<Shape>> expected) throws Exception {
        PgServer pg = PgServer.shared(major);
        List<OrmApp> apps = new ArrayList<>();
        Set<String> databases = new TreeSet<>();
        try {
            for (Version v : versions) {
                OrmApp.createShop(pg, v.database());
                apps.add(OrmApp.open(pg, v.database(), v.properties()));
                databases.add(v.database());
            }
            IntervalRecording recording = IntervalRecording.recorder(scenario + "-" + interval + "s-" + major, databases);
            int quiet = 60 + 60 + 22 * interval;
            Map<String, List<Integer>> openAt = new TreeMap<>(); // subject -> seconds of every poll it was open
            Map<String, Finding> lastSeen = new LinkedHashMap<>();
            try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.interval", interval + "s")) {
                m.poll();
                for (int second = 1; second <= TRAFFIC_SECONDS + quiet; second++) {
                    m.advance(Duration.ofSeconds(1));
                    if (second <= TRAFFIC_SECONDS && second % period == 0) {
                        for (int i = 0; i < versions.size(); i++) {
                            apps.get(i).request(versions.get(i).request());
                        }
                    }
                    if (second % interval == 0) {
                        m.poll();
                        if (recording != null) {
                            recording.record(m.last().snapshot().at().toEpochMilli() / 1000.0, m.last().window());
                        }
                        for (Finding f : m.last().findings()) {
                            if (f.check().equals(NPlusOneCheck.ID)) {
                                openAt.computeIfAbsent(f.subject(), k -> new ArrayList<>()).add(second);
                                lastSeen.put(f.subject(), f);
                            }
                        }
                    }
                }
                if (recording != null) {
                    recording.write();
                }
                Statements statements = m.last().snapshot().get(Statements.class).orElseThrow();
                Map<String, Set<String>> expectedParents = new TreeMap<>();
                expected.forEach((child, parents) -> {
                    Set<String> ids = new TreeSet<>();
                    parents.forEach(p -> ids.add(queryid(statements, versions.get(0).database(), p)));
                    expectedParents.put(queryid(statements, versions.get(0).database(), child), ids);
                });
                assertThat(openAt.keySet()).as("children flagged (the fixed versions never)")
                        .containsExactlyInAnyOrderElementsOf(expectedParents.keySet());
                for (Map.Entry<String, Set<String>> e : expectedParents.entrySet()) {
                    List<Integer> open = openAt.get(e.getKey());
                    assertThat(open.get(0)).as("flagged within two minutes of the first request").isLessThanOrEqualTo(120 + period);
                    assertThat(open.get(open.size() - 1) - open.get(0)).as("opened once, cleared once: open at every poll in between")
                            .isEqualTo((open.size() - 1) * interval);
                    assertThat(open.get(open.size() - 1)).as("still open when the traffic stops, cleared after it")
                            .isBetween(TRAFFIC_SECONDS, TRAFFIC_SECONDS + quiet - interval);
                    assertThat(parents(lastSeen.get(e.getKey()))).as("parents named by %s in: %s", e.getKey(), lastSeen.get(e.getKey()).message())
                            .isEqualTo(e.getValue());
                    assertThat(lastSeen.get(e.getKey()).message()).contains("N+1 in database " + versions.get(0).database());
                }
            }
        } finally {
            apps.forEach(OrmApp::close);
        }
    }

    /** The queryid of the one statement of {@code database} whose text has the shape. */
    static String queryid(Statements statements, String database, Shape shape) {
        Set<Long> ids = new TreeSet<>();
        for (Statement s : statements.entries()) {
            if (database.equals(s.datname()) && s.text() != null && shape.sql().matcher(s.text().toLowerCase()).find()) {
                ids.add(s.queryid());
            }
        }
        assertThat(ids).as("statements of %s like %s", database, shape.name()).hasSize(1);
        return Long.toString(ids.iterator().next());
    }

    private static final Pattern STATEMENT = Pattern.compile("statement (-?\\d+)");

    /** The queryids a finding's message names besides its child. */
    static Set<String> parents(Finding f) {
        Set<String> ids = new TreeSet<>();
        Matcher matcher = STATEMENT.matcher(f.message().split(" Child: ")[0]);
        while (matcher.find()) {
            ids.add(matcher.group(1));
        }
        ids.remove(f.subject());
        return ids;
    }
}
