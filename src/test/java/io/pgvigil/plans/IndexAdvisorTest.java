package io.pgvigil.plans;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;

/**
 * The index proposal from a sequential scan's filter, as EXPLAIN (VERBOSE) prints filters (the
 * shapes PlansMatrixTest gets from real servers), against a table of 40,000 rows.
 */
class IndexAdvisorTest {

    private static final Table ORDERS = new Table(1, "public", "orders", 1_800_000, 40_000, 10, 400_000, 0, null, 0, 40_000,
            0, 0, null, null, 0, 0, null);

    private static IndexProposal propose(String filter, double rows, Index... indexes) {
        return IndexAdvisor.propose(new PlanNode(0, "Seq Scan", "public", "orders", "orders", null, filter, null, rows,
                700), ORDERS, List.of(indexes));
    }

    private static Index btree(String name, String... columns) {
        return new Index(2, 1, "public", "orders", name, "btree", 8192, false, false, false, false, true, false,
                List.of(2), List.of(), List.of(), List.of(columns), null, null, 0, 0, 0, 0, 0, null);
    }

    @Test
    void anEqualityOnAParameterProposesAnIndexOnThatColumn() {
        IndexProposal p = propose("(orders.customer_id = $1)", 20);
        assertThat(p.sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);");
        assertThat(p.reason()).isNull();
        assertThat(p.verified()).isFalse();
    }

    @Test
    void equalityColumnsComeFirstThenOneRangeColumn() {
        IndexProposal p = propose("((orders.created_at > $2) AND (orders.customer_id = $1) AND ((orders.status)::text = $3))", 5);
        assertThat(p.columns()).containsExactly("customer_id", "status", "created_at");
        assertThat(p.sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (customer_id, status, created_at);");
    }

    @Test
    void anAnyOfAParameterIsAnEquality() {
        assertThat(propose("(orders.customer_id = ANY ($1))", 100).columns()).containsExactly("customer_id");
    }

    @Test
    void aComparisonWithAConstantMakesTheIndexPartial() {
        IndexProposal p = propose("((orders.customer_id = $1) AND ((orders.status)::text = 'open'::text))", 5);
        assertThat(p.sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (customer_id)"
                + " WHERE ((status)::text = 'open'::text);");
    }

    @Test
    void orFunctionsAndPatternsProposeNothingRatherThanSomethingWrong() {
        assertThat(propose("((orders.customer_id = $1) OR (orders.total > $2))", 5).reason()).contains("OR");
        assertThat(propose("(lower(orders.note) = $1)", 5).reason()).startsWith("the condition lower(orders.note) = $1 is not a plain column");
        assertThat(propose("(orders.note ~~ $1)", 5).proposes()).isFalse();
        assertThat(propose("(orders.total > orders.discount)", 5).proposes()).isFalse();
    }

    @Test
    void aFilterMatchingManyRowsGetsNoIndex() {
        IndexProposal p = propose("(orders.customer_id > $1)", 13_333);
        assertThat(p.proposes()).isFalse();
        assertThat(p.reason()).isEqualTo("the planner expects the filter to match 13333 of 40000 rows (33%): an index"
                + " would not beat the sequential scan");
    }

    @Test
    void anIndexThatAlreadyLeadsWithTheColumnIsNeverProposedAgain() {
        IndexProposal p = propose("(orders.customer_id = $1)", 20, btree("orders_customer", "customer_id", "total"));
        assertThat(p.proposes()).isFalse();
        assertThat(p.reason()).isEqualTo("index orders_customer already leads with customer_id, yet the planner chose a"
                + " sequential scan: run ANALYZE public.orders and check the plan again before adding anything");
        // An index leading with another column does not serve this filter.
        assertThat(propose("(orders.customer_id = $1)", 20, btree("orders_total", "total", "customer_id")).proposes()).isTrue();
    }

    @Test
    void aScanWithoutFilterReadsTheWholeTableOnPurpose() {
        assertThat(propose(null, 40_000).reason()).isEqualTo("the scan has no filter: it reads the whole table on purpose");
    }
}
