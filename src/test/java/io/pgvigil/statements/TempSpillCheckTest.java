package io.pgvigil.statements;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code temp_spill} on StatementsMatrixTest's recording (PostgreSQL 18): a sort of 200,000 rows with
 * {@code work_mem = 64kB} before each of two polls.
 */
class TempSpillCheckTest {

    static final String SPILL = "StatementsMatrixTest.sortOverWorkMemOpensTempSpill";
    static final String SORT = "SELECT id FROM events ORDER BY payload";

    private final List<Poll> polls = Recordings.polls(SPILL, 18);
    private final long queryid = polls.get(0).queryid(SORT);
    private final String subject = Long.toString(queryid);
    /** temp_blks_written of the interval × block_size. */
    private final double bytes = (double) (polls.get(1).statement(queryid).tempBlksWritten()
            - polls.get(0).statement(queryid).tempBlksWritten()) * polls.get(1).snapshot().server().blockSize();

    @Test
    void aSortLargerThanWorkMemIsMeasuredInBytesWrittenAndNamesWorkMem() {
        Evaluation e = on(subject, judge(check("temp_spill"), polls).get(1));
        assertThat(bytes).isBetween(10.0 * 1024 * 1024, 1024.0 * 1024 * 1024);
        assertThat(e.value()).isEqualTo(bytes);
        assertThat(e.severity()).isEqualTo(Severity.WARNING);
        assertThat(e.threshold()).isEqualTo(10.0 * 1024 * 1024);
        assertThat(e.message()).isEqualTo(String.format(Locale.ROOT, "wrote %.1f MiB of temporary files over 1 call(s)"
                + " in the last %s s in database spill (sorts or hashes larger than work_mem): " + SORT,
                bytes / 1048576, NPlusOneCheckTest.seconds(polls, 1)));
    }

    @Test
    void theSameBytesAreCriticalAboveALowerCriticalThresholdAndNothingBelowAHigherWarning() {
        Evaluation critical = on(subject, judge(check("temp_spill", "pgvigil.checks.temp-spill.warning", "1M",
                "pgvigil.checks.temp-spill.critical", "16M"), polls).get(1));
        assertThat(critical.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(critical.threshold()).isEqualTo(16.0 * 1024 * 1024);
        Evaluation within = on(subject, judge(check("temp_spill", "pgvigil.checks.temp-spill.warning", "512M"), polls)
                .get(1));
        assertThat(within.severity()).isNull();
        assertThat(within.value()).isEqualTo(bytes);
    }

    @Test
    void statementsThatWroteNoTemporaryFilesAreNotMeasured() {
        List<Evaluation> window = judge(check("temp_spill"), polls).get(1);
        assertThat(window).filteredOn(e -> !e.hold()).extracting(Evaluation::subject).containsExactly(subject);
    }
}
