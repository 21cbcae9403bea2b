package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * 5,000 polls, 5 ms apart, against a server kept busy by two client threads (commits, rollbacks, index
 * lookups, a stream of distinct statements) in two databases that are visited every second: the
 * heap after a full GC, the thread count, the open file descriptors and pgvigil's sessions must not
 * grow. Prints what it measured (docs/reliability.md quotes it). Newest major only: the poll code
 * is the same on every major, and the matrix tests cover the differences.
 */
class SoakTest {

    static final int POLLS = 5_000;
    static final int WARM_UP = 500;

    @Test
    void fiveThousandPollsAgainstABusyServerGrowNothing() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        pg.recreateDatabase("soak");
        pg.recreateDatabase("soak_b");
        try (Connection c = pg.connect("soak"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int, total numeric)");
            st.execute("INSERT INTO orders SELECT g, g % 500, g FROM generate_series(1, 20000) g");
            st.execute("CREATE INDEX ON orders (customer)");
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong transactions = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        for (String db : List.of("soak", "soak_b")) {
            Thread t = new Thread(() -> busy(pg, db, running, transactions), "soak-client-" + db);
            t.setDaemon(true);
            t.start();
            clients.add(t);
        }
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.interval", "1s", "pgvigil.indexes.interval", "1s")) {
            for (int i = 0; i < WARM_UP; i++) {
                pollAndScrape(m, i);
            }
            long heapBefore = heapAfterGc();
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
            long descriptorsBefore = FaultMatrixTest.openDescriptors();
            long failedBefore = m.last().failedPolls();
            long start = System.nanoTime();
            for (int i = 0; i < POLLS; i++) {
                pollAndScrape(m, i);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long heapAfter = heapAfterGc();
            int threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
            long descriptorsAfter = FaultMatrixTest.openDescriptors();
            running.set(false);
            for (Thread t : clients) {
                t.join(10_000);
            }
            System.out.printf("soak: %d polls in %.1f s against %d client transactions; heap after GC %.1f MiB"
                    + " -> %.1f MiB; threads %d -> %d; open file descriptors %d -> %d%n", POLLS, seconds,
                    transactions.get(), heapBefore / 1048576.0, heapAfter / 1048576.0, threadsBefore, threadsAfter,
                    descriptorsBefore, descriptorsAfter);

            assertThat(transactions.get()).as("the server was busy").isGreaterThan(POLLS);
            assertThat(m.last().failedPolls()).isEqualTo(failedBefore);
            // A leak of 2 KiB per poll would add 10 MiB; the measured difference is a few hundred KiB.
            assertThat(heapAfter - heapBefore).as("heap growth in bytes").isLessThan(8L << 20);
            assertThat(threadsAfter).isLessThanOrEqualTo(threadsBefore + 2);
            assertThat(descriptorsAfter).isLessThanOrEqualTo(descriptorsBefore + 2);
            try (Connection admin = pg.connect("postgres")) {
                PgServer.await("pgvigil back to its one session", () -> pg.monitorSessions(admin) == 1);
            }
        } finally {
            running.set(false);
        }
    }

    private static void pollAndScrape(TestMonitor m, int i) throws InterruptedException {
        m.poll();
        if (i % 10 == 0) {
            assertThat(m.scrape()).contains("pg_up 1.0\n");
        }
        Thread.sleep(5);
    }

    /** Commits, rollbacks, index lookups and one new distinct statement in 50 transactions. */
    private static void busy(PgServer pg, String db, AtomicBoolean running, AtomicLong transactions) {
        try (Connection c = pg.connect(db, "soak-client"); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            boolean orders = db.equals("soak");
            long n = 0;
            while (running.get()) {
                n++;
                if (orders) {
                    st.execute("SELECT sum(total) FROM orders WHERE customer = " + (n % 500));
                } else {
                    st.execute("SELECT " + n);
                }
                if (n % 50 == 0) {
                    // a new query id now and then: the text cache and the top-N keep changing
                    st.execute("SELECT 1" + ", 1".repeat((int) (n / 50 % 400)));
                }
                // 5 % rollbacks: under rollback_rate's 10 % warning, so the log is not a stream of findings.
                if (n % 20 == 0) {
                    c.rollback();
                } else {
                    c.commit();
                }
                transactions.incrementAndGet();
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
