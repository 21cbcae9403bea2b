package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.testing.TestConfig;

/**
 * The findings engine without a server: open at once, clear and step down only with hysteresis (a
 * margin inside the threshold, or consecutive clean intervals), hold without a measurement for a
 * bounded number of intervals, clear at once when the subject is gone.
 */
class FindingTrackerTest {

    private final FindingTracker tracker = new FindingTracker();
    private Instant now = Instant.parse("2026-12-01T00:00:00Z");
    /** What was open after each poll: null when closed, else the severity. */
    private final List<Severity> trail = new ArrayList<>();

    private static Check check(String id, String... keyValues) {
        Map<String, String> props = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        return Catalog.check(id).orElseThrow().factory().apply(TestConfig.of(props));
    }

    /** One poll in which {@code check} measured {@code value} for "shop". */
    private Severity poll(Check check, double value) {
        Map<Severity, Double> t = check.thresholds();
        Evaluation e = check.spec().lowerIsWorse()
                ? Evaluation.measured("shop", value, Severity.below(value, t.get(Severity.WARNING), t.get(Severity.CRITICAL)),
                        t.get(Severity.WARNING), "measured " + value)
                : Evaluation.above("shop", value, t.get(Severity.WARNING), t.get(Severity.CRITICAL), "measured " + value);
        return apply(check, List.of(e));
    }

    private Severity apply(Check check, List<Evaluation> evaluations) {
        now = now.plusSeconds(15);
        tracker.apply(check, evaluations, now);
        Severity open = tracker.open().stream().filter(f -> f.subject().equals("shop")).map(Finding::severity)
                .findFirst().orElse(null);
        trail.add(open);
        return open;
    }

    @Test
    void aRollbackRateHoveringAtItsThresholdOpensOnceAndClearsOnceBelowTheMargin() {
        Check check = check("rollback_rate");
        for (double v : new double[] {0.11, 0.095, 0.105, 0.098, 0.101, 0.093, 0.12, 0.085}) {
            poll(check, v);
        }
        // 0.085 is below 0.10 - 10 % of 0.10 = 0.09: the first value that clears it at once.
        assertThat(trail).containsExactly(Severity.WARNING, Severity.WARNING, Severity.WARNING, Severity.WARNING,
                Severity.WARNING, Severity.WARNING, Severity.WARNING, null);
    }

    @Test
    void aValueJustInsideTheThresholdClearsAfterClearAfterIntervals() {
        Check check = check("rollback_rate");
        poll(check, 0.11);
        poll(check, 0.095);
        poll(check, 0.095);
        assertThat(poll(check, 0.095)).as("third clean interval in a row").isNull();
        assertThat(trail).containsExactly(Severity.WARNING, Severity.WARNING, Severity.WARNING, null);
    }

    @Test
    void aBreachInBetweenRestartsTheCountOfCleanIntervals() {
        Check check = check("rollback_rate");
        for (double v : new double[] {0.11, 0.095, 0.095, 0.11, 0.095, 0.095, 0.095}) {
            poll(check, v);
        }
        assertThat(trail).containsExactly(Severity.WARNING, Severity.WARNING, Severity.WARNING, Severity.WARNING,
                Severity.WARNING, Severity.WARNING, null);
    }

    @Test
    void criticalStepsDownToWarningOnlyBelowItsMarginAndWorseningIsImmediate() {
        Check check = check("rollback_rate");
        assertThat(poll(check, 0.12)).isEqualTo(Severity.WARNING);
        assertThat(poll(check, 0.30)).as("worse: at once").isEqualTo(Severity.CRITICAL);
        assertThat(poll(check, 0.24)).as("inside 0.25 but not by 10 %% (0.225)").isEqualTo(Severity.CRITICAL);
        assertThat(poll(check, 0.20)).as("below 0.225, above 0.09").isEqualTo(Severity.WARNING);
        assertThat(poll(check, 0.05)).isNull();
        Finding none = tracker.open().stream().findFirst().orElse(null);
        assertThat(none).isNull();
    }

    @Test
    void aFindingKeptOpenByTheMarginReportsItsLatestValueAndTheThresholdOfItsSeverity() {
        Check check = check("rollback_rate");
        poll(check, 0.30);
        poll(check, 0.24);
        Finding f = tracker.open().get(0);
        assertThat(f.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(f.value()).isEqualTo(0.24);
        assertThat(f.threshold()).isEqualTo(0.25);
        assertThat(f.message()).isEqualTo("measured 0.24");
    }

    @Test
    void whereLowerIsWorseTheMarginIsAShareOfTheDistanceToOne() {
        Check check = check("index_hit_rate");
        assertThat(poll(check, 0.98)).isEqualTo(Severity.WARNING);
        assertThat(poll(check, 0.9905)).as("above 0.99, below 0.99 + 10 %% of 0.01").isEqualTo(Severity.WARNING);
        assertThat(poll(check, 0.992)).isNull();
    }

    @Test
    void clearMarginAndClearAfterAreConfigurablePerCheck() {
        Check strict = check("rollback_rate", "pgvigil.checks.rollback-rate.clear-after", "1");
        poll(strict, 0.11);
        assertThat(poll(strict, 0.099)).as("one clean interval is enough").isNull();
        Check wide = check("pool_saturation", "pgvigil.checks.pool-saturation.clear-margin", "0.5",
                "pgvigil.checks.pool-saturation.clear-after", "10");
        FindingTracker other = new FindingTracker();
        Instant t = Instant.parse("2026-12-01T00:00:00Z");
        other.apply(wide, List.of(Evaluation.above("shop", 0.85, 0.8, 0.9, "")), t);
        other.apply(wide, List.of(Evaluation.above("shop", 0.5, 0.8, 0.9, "")), t.plusSeconds(15));
        assertThat(other.open()).as("0.5 is not below 0.8 - 50 %% of 0.8").hasSize(1);
        other.apply(wide, List.of(Evaluation.above("shop", 0.39, 0.8, 0.9, "")), t.plusSeconds(30));
        assertThat(other.open()).isEmpty();
    }

    @Test
    void aRateOfAvoidableRoundTripsClearsAtOnceWhenItIsGoneAndStaysWhileNearTheThreshold() {
        // n_plus_one keeps a pair open for a window itself; what it reports after that is 0 (gone) or
        // a new rate, which clears by the margin like any continuous value.
        Check check = check("n_plus_one");
        apply(check, List.of(Evaluation.above("shop", 2.5, 0.1, 50, "seen")));
        apply(check, List.of(Evaluation.above("shop", 0.095, 0.1, 50, "a trickle: within the margin")));
        apply(check, List.of(Evaluation.measured("shop", 0, null, 0.1, "not seen for a window")));
        assertThat(trail).containsExactly(Severity.WARNING, Severity.WARNING, null);
    }

    @Test
    void aHeldStatementKeepsItsFindingForAtMostMaxHeldIntervals() {
        Check check = check("slow_query");
        assertThat(check.spec().maxHeld()).as("documented in checks.md").isEqualTo(20);
        apply(check, List.of(Evaluation.above("shop", 0.5, 0.1, 1, "slow")));
        for (int i = 0; i < check.spec().maxHeld(); i++) {
            assertThat(apply(check, List.of(Evaluation.held("shop")))).as("held interval %d", i + 1)
                    .isEqualTo(Severity.WARNING);
        }
        assertThat(apply(check, List.of(Evaluation.held("shop")))).isNull();
    }

    @Test
    void aMeasurementEndsTheHoldCount() {
        Check check = check("slow_query");
        apply(check, List.of(Evaluation.above("shop", 0.5, 0.1, 1, "slow")));
        for (int i = 0; i < check.spec().maxHeld(); i++) {
            apply(check, List.of(Evaluation.held("shop")));
        }
        apply(check, List.of(Evaluation.above("shop", 0.5, 0.1, 1, "slow")));
        assertThat(apply(check, List.of(Evaluation.held("shop")))).isEqualTo(Severity.WARNING);
    }

    @Test
    void aHoldNeverOpensAFindingAndASubjectNoLongerReportedClearsAtOnce() {
        Check check = check("rollback_rate");
        assertThat(apply(check, List.of(Evaluation.held("shop")))).isNull();
        poll(check, 0.5);
        assertThat(apply(check, List.of())).as("database dropped, or quiet").isNull();
    }

    @Test
    void aSuspendedCheckWithdrawsItsFindingsAndTheOpeningTimeIsKeptAcrossSeverityChanges() {
        Check check = check("rollback_rate");
        poll(check, 0.12);
        Instant opened = tracker.open().get(0).since();
        poll(check, 0.5);
        assertThat(tracker.open().get(0).since()).isEqualTo(opened);
        tracker.suspend(check.id(), "collector failed", now);
        assertThat(tracker.open()).isEmpty();
    }

    /** The held rest of {@code subjects}: what StatementChecks lists lazily for idle statements. */
    private static HeldRest heldRest(List<Evaluation> measured, String... subjects) {
        return new HeldRest(measured) {
            @Override
            public boolean holds(String subject) {
                return List.of(subjects).contains(subject);
            }

            @Override
            protected List<String> heldSubjects() {
                return List.of(subjects);
            }
        };
    }

    @Test
    void aHeldRestListsItsHeldVerdictsAfterTheMeasuredOnes() {
        Evaluation slow = Evaluation.above("1", 0.5, 0.1, 1, "slow");
        assertThat(heldRest(List.of(slow), "2", "3")).containsExactly(slow, Evaluation.held("2"), Evaluation.held("3"));
    }

    @Test
    void aHeldRestChangesTheFindingsExactlyAsItsListedVerdictsDo() {
        Check check = check("slow_query");
        FindingTracker listed = new FindingTracker();
        Evaluation slow1 = Evaluation.above("1", 0.5, 0.1, 1, "slow");
        Evaluation critical2 = Evaluation.above("2", 1.5, 0.1, 1, "very slow");
        Evaluation fast2 = Evaluation.above("2", 0.01, 0.1, 1, "fast");
        Evaluation slow3 = Evaluation.above("3", 0.2, 0.1, 1, "slow");
        List<HeldRest> polls = new ArrayList<>();
        // Open three, hold them (one past max-held), measure one back inside, one measured and held in a
        // poll (held after the measurement, as listed), one idle and gone (no longer reported).
        polls.add(heldRest(List.of(slow1, critical2, slow3), "4", "5"));
        for (int i = 0; i < check.spec().maxHeld() + 1; i++) {
            polls.add(heldRest(i % 5 == 0 ? List.of(critical2) : List.of(), "1", "2", "4"));
        }
        polls.add(heldRest(List.of(fast2, slow3), "3", "5"));
        polls.add(heldRest(List.of(slow1), "2"));
        polls.add(heldRest(List.of(), "1", "5"));
        polls.add(heldRest(List.of(Evaluation.held("1")), "9"));
        polls.add(heldRest(List.of(), "5"));
        List<Integer> sizes = new ArrayList<>();
        for (HeldRest poll : polls) {
            now = now.plusSeconds(15);
            tracker.apply(check, poll, now);
            listed.apply(check, new ArrayList<>(poll), now);
            assertThat(tracker.open()).isEqualTo(listed.open());
            sizes.add(tracker.open().size());
        }
        assertThat(sizes).as("the scenario opens, holds and clears").contains(3, 2, 1, 0);
    }
}
