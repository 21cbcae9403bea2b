package io.pgvigil.http;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.pgvigil.core.LatestState;

/**
 * Readiness is about pgvigil serving /metrics, never about the target: as a sidecar, a readiness
 * that followed the database would take the whole pod (PostgreSQL included) out of its Service.
 * Whether the target answers is reported as data here and as {@code pg_up}.
 */
@Readiness
@ApplicationScoped
public class ServiceReadiness implements HealthCheck {

    @Inject
    LatestState latest;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("pgvigil").up()
                .withData("target_up", latest.get().up())
                .withData("polls", latest.get().polls())
                .build();
    }
}
