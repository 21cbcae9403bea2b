package io.pgvigil.activity;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code pool_saturation} and {@code long_transaction} on pg_stat_activity and the connection settings
 * as CoreChecksMatrixTest recorded them: a burst of idle clients (PostgreSQL 13, without
 * reserved_connections, and 18), and a session left idle in its transaction (PostgreSQL 18).
 */
class ActivityChecksTest {

    static final String BURST = "CoreChecksMatrixTest.connectionBurstOpensPoolSaturationWarningThenCritical";
    static final String IDLE_IN_TRANSACTION = "CoreChecksMatrixTest.sessionIdleInTransactionOpensLongTransaction";

    /** pgvigil and the test's admin session, then 12 clients more, then 14, then only the first two again. */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {13, 18})
    void aBurstOfClientsOpensPoolSaturationWarningThenCriticalOverTheUsableSlots(int major) {
        List<Poll> polls = Recordings.polls(BURST, major);
        List<List<Evaluation>> verdicts = judge(check("pool_saturation"), polls);
        String settings = "(max_connections 20, 3 reserved for superusers" + (major >= 16 ? ", 0 reserved_connections" : "")
                + ")";
        assertThat(verdicts.get(1)).containsExactly(Evaluation.measured("server", 14.0 / 17, Severity.WARNING, 0.8,
                "14 client connections use 82% of the 17 usable slots " + settings + "; most in database burst (12)"));
        assertThat(verdicts.get(2)).containsExactly(Evaluation.measured("server", 16.0 / 17, Severity.CRITICAL, 0.9,
                "16 client connections use 94% of the 17 usable slots " + settings + "; most in database burst (14)"));
        for (int poll : new int[] {0, 3}) {
            assertThat(verdicts.get(poll)).singleElement().satisfies(e -> {
                assertThat(e.value()).isEqualTo(2.0 / 17);
                assertThat(e.severity()).isNull();
                assertThat(e.message()).startsWith("2 client connections use 12% of the 17 usable slots " + settings);
            });
        }
    }

    @Test
    void withoutTheConnectionSettingsPoolSaturationIsNotEvaluated() {
        Poll poll = Recordings.polls(BURST, 18).get(1);
        Snapshot withoutSettings = new Snapshot(poll.snapshot().at(), poll.snapshot().server(),
                Map.of(Activity.class, poll.get(Activity.class)));
        assertThat(check("pool_saturation").evaluate(withoutSettings, Window.EMPTY)).isEmpty();
    }

    /**
     * A session (application billing-job) that ran {@code SELECT 'card 4111-1111' AS secret} in a
     * transaction and sat idle in it: about 0.4 s at the second poll, 1.8 s at the third, committed at
     * the fourth. Thresholds 300 ms and 1.5 s, as in the matrix test.
     */
    @Test
    void theOldestTransactionOfAnotherSessionOpensLongTransactionAndItsLiteralsAreMasked() {
        List<Poll> polls = Recordings.polls(IDLE_IN_TRANSACTION, 18);
        List<List<Evaluation>> verdicts = judge(check("long_transaction", "pgvigil.checks.long-transaction.warning",
                "300ms", "pgvigil.checks.long-transaction.critical", "1500ms"), polls);
        for (int poll = 1; poll <= 2; poll++) {
            Backend job = job(polls.get(poll));
            assertThat(job.state()).isEqualTo("idle in transaction");
            assertThat(verdicts.get(poll)).containsExactly(Evaluation.measured("server", job.xactAgeSeconds(),
                    poll == 1 ? Severity.WARNING : Severity.CRITICAL, poll == 1 ? 0.3 : 1.5,
                    String.format(Locale.ROOT, "transaction open for %.0f s: pid %d, user postgres, application"
                            + " 'billing-job', database postgres, state idle in transaction, query: SELECT '…' AS secret",
                            job.xactAgeSeconds(), job.pid())));
            assertThat(verdicts.get(poll).get(0).message()).doesNotContain("4111");
        }
        assertThat(verdicts.get(3)).singleElement().satisfies(e -> {
            assertThat(e.value()).isZero();
            assertThat(e.severity()).isNull();
        });
    }

    @Test
    void pgvigilsOwnTransactionIsNeverTheOldest() {
        Poll poll = Recordings.polls(IDLE_IN_TRANSACTION, 18).get(1);
        Activity activity = poll.get(Activity.class);
        assertThat(activity.backends()).extracting(Backend::pid).contains(activity.ownPid());
        assertThat(activity.oldestTransaction()).map(Backend::applicationName).contains("billing-job");
    }

    private static Backend job(Poll poll) {
        return poll.get(Activity.class).backends().stream().filter(b -> "billing-job".equals(b.applicationName()))
                .findFirst().orElseThrow();
    }
}
