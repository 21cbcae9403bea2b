package io.pgvigil.relations;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.pgvigil.relations.RelationsCollector.Index;

/**
 * The duplicate_index rules on index definitions as the collector reads them (the matrix test runs
 * the common case on every major; these are the corner cases that decide what is never reported).
 */
class DuplicateIndexRulesTest {

    private static final String DEFAULT = "3124/0/0";

    private static long oids = 16000;

    private static Index btree(String name, List<Integer> keys) {
        return index(name, "btree", keys, List.of(), false, false, false, null, null);
    }

    private static Index index(String name, String method, List<Integer> keys, List<Integer> include, boolean unique,
            boolean primary, boolean constraint, String expressions, String predicate) {
        return new Index(++oids, 100, "public", "t", name, method, 8192, unique, primary, false, constraint, true, false,
                keys, include, keys.stream().map(k -> DEFAULT).toList(), List.of(name), expressions, predicate,
                0, 0, 0, 0, 0, null);
    }

    @Test
    void aLeadingPrefixIsRedundantButNotTheWiderIndex() {
        Index narrow = btree("a", List.of(1));
        Index wide = btree("ab", List.of(1, 2));
        assertThat(DuplicateIndexCheck.redundant(narrow, wide)).isTrue();
        assertThat(DuplicateIndexCheck.redundant(wide, narrow)).isFalse();
        assertThat(DuplicateIndexCheck.redundant(btree("b", List.of(2)), wide)).as("not a leading column").isFalse();
        assertThat(DuplicateIndexCheck.redundant(btree("ba", List.of(2, 1)), wide)).as("other order").isFalse();
    }

    @Test
    void ofTwoIdenticalPlainIndexesOnlyTheNewerIsRedundant() {
        Index older = btree("first", List.of(1, 2));
        Index newer = btree("second", List.of(1, 2));
        assertThat(DuplicateIndexCheck.redundant(newer, older)).isTrue();
        assertThat(DuplicateIndexCheck.redundant(older, newer)).isFalse();
    }

    @Test
    void aUniqueIndexIsOnlyADuplicateOfAnIdenticalUniqueOne() {
        Index unique = index("u", "btree", List.of(1), List.of(), true, false, false, null, null);
        assertThat(DuplicateIndexCheck.redundant(unique, btree("ab", List.of(1, 2)))).isFalse();
        assertThat(DuplicateIndexCheck.redundant(unique, btree("a", List.of(1)))).isFalse();
        // A plain index is redundant next to a unique one on the same column.
        assertThat(DuplicateIndexCheck.redundant(btree("plain", List.of(1)), unique)).isTrue();
        Index pkey = index("pk", "btree", List.of(1), List.of(), true, true, true, null, null);
        Index copy = index("u2", "btree", List.of(1), List.of(), true, false, false, null, null);
        assertThat(DuplicateIndexCheck.redundant(copy, pkey)).as("the copy of the primary key goes").isTrue();
        assertThat(DuplicateIndexCheck.redundant(pkey, copy)).as("the primary key stays").isFalse();
    }

    @Test
    void predicatesExpressionsMethodsAndIncludeColumnsMustAgree() {
        Index wide = btree("ab", List.of(1, 2));
        assertThat(DuplicateIndexCheck.redundant(index("p", "btree", List.of(1), List.of(), false, false, false, null,
                "(deleted_at IS NULL)"), wide)).as("partial").isFalse();
        assertThat(DuplicateIndexCheck.redundant(index("e", "btree", List.of(0), List.of(), false, false, false,
                "lower(email)", null), wide)).as("expression").isFalse();
        assertThat(DuplicateIndexCheck.redundant(index("h", "hash", List.of(1), List.of(), false, false, false, null,
                null), wide)).as("hash vs btree").isFalse();
        assertThat(DuplicateIndexCheck.redundant(index("h1", "hash", List.of(1), List.of(), false, false, false, null,
                null), index("h2", "hash", List.of(1, 2), List.of(), false, false, false, null, null)))
                .as("prefixes only count for btree").isFalse();
        assertThat(DuplicateIndexCheck.redundant(index("inc", "btree", List.of(1), List.of(3), false, false, false, null,
                null), wide)).as("INCLUDE (c) not in (a, b)").isFalse();
        assertThat(DuplicateIndexCheck.redundant(index("inc2", "btree", List.of(1), List.of(2), false, false, false,
                null, null), wide)).as("INCLUDE (b) within (a, b)").isTrue();
        Index desc = new Index(++oids, 100, "public", "t", "adesc", "btree", 8192, false, false, false, false, true,
                false, List.of(1), List.of(), List.of("3124/0/3"), List.of("a"), null, null, 0, 0, 0, 0, 0, null);
        assertThat(DuplicateIndexCheck.redundant(desc, wide)).as("DESC NULLS FIRST vs ASC").isFalse();
    }
}
