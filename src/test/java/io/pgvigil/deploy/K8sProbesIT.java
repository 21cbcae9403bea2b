package io.pgvigil.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.pgvigil.testing.PackagedApp;

/**
 * The paths deploy/k8s probes and scrapes, asked of the packaged application while its database is
 * down (as in a pod whose PostgreSQL has not started yet): liveness, startup and readiness answer
 * 200 — readiness never waits for the database — and the metrics path serves {@code pg_up 0}.
 */
class K8sProbesIT {

    @Test
    void everyProbeAndScrapePathOfTheManifestsAnswersWithTheDatabaseDown() throws Exception {
        var manifests = K8sManifestsTest.manifests(K8sManifestsTest.K8S);
        Set<String> probes = new LinkedHashSet<>();
        for (PodTemplateSpec pod : K8sManifestsTest.pods(manifests)) {
            Container pgvigil = K8sManifestsTest.pgvigil(pod.getSpec());
            probes.add(pgvigil.getLivenessProbe().getHttpGet().getPath());
            probes.add(pgvigil.getReadinessProbe().getHttpGet().getPath());
            probes.add(pgvigil.getStartupProbe().getHttpGet().getPath());
        }
        Set<String> scrapes = new LinkedHashSet<>();
        for (PodMonitor monitor : K8sManifestsTest.of(manifests, PodMonitor.class)) {
            monitor.getSpec().getPodMetricsEndpoints().forEach(e -> scrapes.add(e.getPath()));
        }
        assertThat(probes).containsExactlyInAnyOrder("/q/health/live", "/q/health/ready");
        assertThat(scrapes).containsExactly("/metrics");
        try (PackagedApp app = PackagedApp.start(Map.of("pgvigil.target.url", "jdbc:postgresql://localhost:1/postgres",
                "pgvigil.interval", "1s"))) {
            app.awaitMetric("pg_up 0.0");
            for (String path : probes) {
                assertThat(app.get(path).statusCode()).as(path).isEqualTo(200);
            }
            for (String path : scrapes) {
                assertThat(app.get(path).statusCode()).as(path).isEqualTo(200);
            }
        }
    }
}
