package io.pgvigil.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Catalog;
import io.pgvigil.core.Check;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Collector;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.testing.PgTestResource;
import io.pgvigil.testing.TestConfig;
import io.quarkus.arc.All;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The CDI beans the service polls with are exactly the catalog's checks and collectors, which the
 * tests, the alert rules and the docs are built from: a check left out of the catalog would ship with
 * no alert, no runbook and no test.
 */
@QuarkusTest
@WithTestResource(PgTestResource.class)
class CatalogBeansTest {

    @Inject
    @All
    List<Check> checks;

    @Inject
    @All
    List<Collector<?>> collectors;

    @Test
    void everyCheckBeanIsInTheCatalogAndEveryCatalogCheckIsABean() {
        assertThat(checks).extracting(Check::id)
                .containsExactlyInAnyOrderElementsOf(Catalog.CHECKS.stream().map(CheckSpec::id).toList());
        for (Check check : checks) {
            assertThat(check.spec()).as(check.id()).isSameAs(Catalog.check(check.id()).orElseThrow());
        }
    }

    @Inject
    @All
    List<MetricsGroup> metrics;

    @Test
    void everyMetricsGroupBeanIsInTheCatalogSoThatDocsListEveryFamily() {
        assertThat(metrics).extracting(g -> g.getClass().getName()).containsExactlyInAnyOrderElementsOf(
                Catalog.metrics(TestConfig.of(Map.of())).stream().map(g -> g.getClass().getName()).toList());
    }

    @Test
    void everyCollectorBeanIsInTheCatalogAndEveryCatalogCollectorIsABean() {
        assertThat(collectors).extracting(c -> c.key()).containsExactlyInAnyOrderElementsOf(
                Catalog.collectors(TestConfig.of(Map.of())).stream().map(c -> c.key()).toList());
    }
}
