package io.pgvigil.plans;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

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

    /** The column types of orders, as format_type() gives them. */
    private static final Map<String, String> TYPES = Map.of("id", "integer", "customer_id", "integer", "status",
            "character varying(20)", "note", "text", "created_at", "timestamp with time zone",
            "order", "integer");

    private static IndexProposal propose(String filter, double rows, Index... indexes) {
        return IndexAdvisor.propose(new PlanNode(0, "Seq Scan", "public", "orders", "orders", null, filter, null, rows,
                700), ORDERS, List.of(indexes), TYPES);
    }

    private static Index btree(String name, String... columns) {
        return index(name, null, columns);
    }

    private static Index index(String name, String predicate, String... columns) {
        List<Integer> attnums = java.util.stream.IntStream.rangeClosed(2, columns.length + 1).boxed().toList();
        return new Index(2, 1, "public", "orders", name, "btree", 8192, false, false, false, false, true, false,
                attnums, List.of(), List.of(), List.of(columns), null, predicate, 0, 0, 0, 0, 0, null);
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
    void anAnyOfAParameterOrOfAnArrayOfParametersIsAnEquality() {
        assertThat(propose("(orders.customer_id = ANY ($1))", 100).columns()).containsExactly("customer_id");
        // An IN list of parameters, as 13-17 print it.
        assertThat(propose("(orders.customer_id = ANY (ARRAY[$1, $2, $3]))", 60).columns()).containsExactly("customer_id");
    }

    @Test
    void aCastOnTheColumnProposesNothingUnlessItIsVarcharAsText() {
        // (created_at)::date = $1: an index on created_at does not serve the cast.
        IndexProposal date = propose("((orders.created_at)::date = $1)", 20);
        assertThat(date.proposes()).isFalse();
        assertThat(date.reason()).startsWith("the condition (orders.created_at)::date = $1 casts the column (created_at is"
                + " timestamp with time zone)");
        assertThat(propose("((orders.id)::text = $1)", 1).proposes()).as("integer::text").isFalse();
        // A varchar column compared with a text parameter: the index on the column serves it.
        assertThat(propose("((orders.status)::text = $1)", 20).sql())
                .isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (status);");
        // Without the column types, every cast refuses.
        assertThat(IndexAdvisor.propose(new PlanNode(0, "Seq Scan", "public", "orders", "orders", null,
                "((orders.status)::text = $1)", null, 20, 700), ORDERS, List.of(), Map.of()).proposes()).isFalse();
    }

    @Test
    void aQuotedOrReservedColumnNameStaysQuoted() {
        assertThat(propose("(orders.\"order\" = $1)", 20).sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (\"order\");");
    }

    @Test
    void aSmallTableGetsNoIndex() {
        Table small = new Table(1, "public", "orders", 8192, 120, 10, 1200, 0, null, 0, 120, 0, 0, null, null, 0, 0, null);
        assertThat(IndexAdvisor.propose(new PlanNode(0, "Seq Scan", "public", "orders", "orders", null,
                "(orders.customer_id = $1)", null, 1, 3), small, List.of(), TYPES).reason())
                .isEqualTo("the table has 120 rows: too few to need an index");
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
    void anIndexThatAlreadyServesTheFilterIsNeverProposedAgain() {
        IndexProposal p = propose("(orders.customer_id = $1)", 20, btree("orders_customer", "customer_id", "total"));
        assertThat(p.proposes()).isFalse();
        assertThat(p.reason()).isEqualTo("index orders_customer already serves this filter (it leads with customer_id),"
                + " yet the planner chose a sequential scan: run ANALYZE public.orders and check the plan again before"
                + " adding anything");
        // The same equality columns in another order serve as well: (status, customer_id) for (customer_id, status).
        assertThat(propose("((orders.customer_id = $1) AND ((orders.status)::text = $2))", 2,
                btree("orders_status_customer", "status", "customer_id")).proposes()).isFalse();
        // An index leading with another column, or leading with only one of two equality columns, does not.
        assertThat(propose("(orders.customer_id = $1)", 20, btree("orders_total", "total", "customer_id")).proposes()).isTrue();
        assertThat(propose("((orders.customer_id = $1) AND ((orders.status)::text = $2))", 2,
                btree("orders_customer_only", "customer_id")).proposes()).isTrue();
        // A partial index serves only the rows of its predicate: it does not count.
        assertThat(propose("(orders.customer_id = $1)", 20, index("orders_customer_open", "(status = 'open')",
                "customer_id")).proposes()).isTrue();
    }

    @Test
    void aScanWithoutFilterReadsTheWholeTableOnPurpose() {
        assertThat(propose(null, 40_000).reason()).isEqualTo("the scan has no filter: it reads the whole table on purpose");
    }
}
