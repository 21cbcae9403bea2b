package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.pgvigil.core.Finding;
import io.pgvigil.statements.orm.IntervalRecording;
import io.pgvigil.testing.DebianPostgres;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * A TPC-B style workload opens no {@code n_plus_one} finding: Debian's {@code pgbench} (postgresql-15;
 * skipped loudly without it, failed under CI) against a zonky PostgreSQL 15, time-compressed: ten
 * minutes of the monitor's clock, a burst of pgbench transactions from four clients before every poll.
 * Its statements are busy, run equally often and return one row each: the shape of a loop with no list
 * to loop over.
 */
class NPlusOnePgbenchTest {

    @ParameterizedTest(name = "{0} s interval")
    @ValueSource(ints = { 15, 2 })
    void tenMinutesOfPgbenchOpenNoNPlusOne(int interval) throws Exception {
        String pgbench = DebianPostgres.pgbench();
        PgServer pg = PgServer.shared(15);
        pg.recreateDatabase("bench_tpcb");
        run(pg, pgbench, "-i", "-s", "2", "-q");
        IntervalRecording recording = IntervalRecording.recorder("pgbench-" + interval + "s-15", Set.of("bench_tpcb"));
        Set<String> opened = new TreeSet<>();
        long transactions = 0;
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.interval", interval + "s")) {
            m.poll();
            for (int second = interval; second <= 600; second += interval) {
                run(pg, pgbench, "-n", "-c", "4", "-j", "2", "-t", "25");
                transactions += 100;
                m.advance(Duration.ofSeconds(interval));
                m.poll();
                if (recording != null) {
                    recording.record(m.last().snapshot().at().toEpochMilli() / 1000.0, m.last().window());
                }
                m.last().findings().stream().filter(f -> f.check().equals(NPlusOneCheck.ID)).map(Finding::subject)
                        .forEach(opened::add);
            }
            if (recording != null) {
                recording.write();
            }
            assertThat(m.last().window().statements()).as("pgbench's statements were measured").isNotEmpty();
        }
        assertThat(transactions).isEqualTo(600 / interval * 100L);
        assertThat(opened).as("n_plus_one findings during %d transactions of pgbench", transactions).isEmpty();
    }

    private static void run(PgServer pg, String pgbench, String... options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(pgbench, "-h", "localhost", "-p", Integer.toString(pg.port()),
                "-U", "postgres"));
        command.addAll(List.of(options));
        command.add("bench_tpcb");
        Path out = Files.createTempFile("pgbench", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("pgbench finished").isTrue();
        assertThat(p.exitValue()).as("pgbench %s: %s", command, Files.readString(out)).isZero();
        Files.delete(out);
    }
}
