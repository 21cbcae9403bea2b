package io.pgvigil.core;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.pgvigil.metrics.MetricsPublisher;
import io.pgvigil.page.PageHistory;
import io.pgvigil.statements.StatementsHour;
import io.quarkus.scheduler.Scheduled;

/** Runs a poll every {@code pgvigil.interval}; a poll still running when the next is due makes it skip. */
@ApplicationScoped
public class Poller {

    @Inject
    Monitor monitor;

    @Inject
    LatestState latest;

    @Inject
    MetricsPublisher publisher;

    @Inject
    PageHistory history;

    @Inject
    StatementsHour statementsHour;

    @Scheduled(identity = "pgvigil-poll", every = "${pgvigil.interval}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void poll() {
        PollState state = monitor.poll();
        latest.set(state);
        publisher.publish(state);
        history.record(state);
        statementsHour.record(state);
    }
}
