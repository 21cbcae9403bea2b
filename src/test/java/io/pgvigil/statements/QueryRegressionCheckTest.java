package io.pgvigil.statements;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code query_regression} on StatementsMatrixTest's recording (PostgreSQL 18): 20 lookups by SKU over
 * an index before each of the first four polls (three baseline intervals), then the index dropped and
 * 10 lookups that scan 300,000 rows each before the fifth.
 */
class QueryRegressionCheckTest {

    static final String REGRESSION = "StatementsMatrixTest.droppingTheIndexOpensQueryRegression";
    static final String LOOKUP = "SELECT id, payload FROM items WHERE sku = $1";

    private final List<Poll> polls = Recordings.polls(REGRESSION, 18);
    private final long queryid = polls.get(0).queryid(LOOKUP);
    private final String subject = Long.toString(queryid);

    @Test
    void threeBaselineIntervalsThenTheSeqScanIntervalIsCriticalAgainstTheBaseline() {
        List<List<Evaluation>> verdicts = judge(check("query_regression"), polls);
        for (int window = 0; window <= 3; window++) {
            assertThat(verdicts.get(window)).as("window %d: the baseline is forming", window)
                    .noneMatch(e -> e.subject().equals(subject) && !e.hold());
        }
        // The baseline: an exponentially weighted mean of the three interval means, newest weighted 0.3.
        double baseline = mean(1);
        for (int window = 2; window <= 3; window++) {
            baseline = QueryRegressionCheck.ALPHA * mean(window) + (1 - QueryRegressionCheck.ALPHA) * baseline;
        }
        double regressed = mean(4);
        Evaluation e = verdicts.get(4).stream().filter(x -> x.subject().equals(subject)).findFirst().orElseThrow();
        assertThat(e.value()).isEqualTo(regressed / baseline).isGreaterThan(10.0);
        assertThat(e.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(e.threshold()).isEqualTo(10.0);
        assertThat(e.message()).isEqualTo(String.format(Locale.ROOT, "mean %.1f ms over 10 call(s) in the last %s s is"
                + " %.1f× its baseline of %.2f ms (from 3 earlier intervals) in database regress: " + LOOKUP,
                regressed * 1000, NPlusOneCheckTest.seconds(polls, 4), regressed / baseline, baseline * 1000));
    }

    @Test
    void aBaselineOfMoreIntervalsThanRecordedJudgesNothing() {
        List<List<Evaluation>> verdicts = judge(check("query_regression",
                "pgvigil.checks.query-regression.baseline-windows", "4"), polls);
        assertThat(verdicts.get(4)).filteredOn(e -> e.subject().equals(subject)).isEmpty();
    }

    @Test
    void aSlowerMeanBelowMinMeanIsNotJudged() {
        String minMean = String.format(Locale.ROOT, "%.0fms", Math.ceil(mean(4) * 1000) + 1);
        List<List<Evaluation>> verdicts = judge(check("query_regression",
                "pgvigil.checks.query-regression.min-mean", minMean), polls);
        assertThat(verdicts.get(4)).filteredOn(e -> e.subject().equals(subject)).isEmpty();
    }

    @Test
    void intervalsWithFewerThanMinCallsBuildNoBaseline() {
        // 20 lookups an interval: with min-calls 21 no interval counts, so nothing is ever judged.
        List<List<Evaluation>> verdicts = judge(check("query_regression",
                "pgvigil.checks.query-regression.min-calls", "21"), polls);
        assertThat(verdicts).allSatisfy(window -> assertThat(window)
                .noneMatch(e -> e.subject().equals(subject) && !e.hold()));
    }

    /** The lookup's mean execution time in the window that ends at poll {@code window}. */
    private double mean(int window) {
        Poll before = polls.get(window - 1);
        Poll after = polls.get(window);
        return (after.statement(queryid).execSeconds() - before.statement(queryid).execSeconds())
                / (after.statement(queryid).calls() - before.statement(queryid).calls());
    }
}
