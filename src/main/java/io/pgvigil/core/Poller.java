package io.pgvigil.core;

import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.pgvigil.metrics.MetricsPublisher;
import io.pgvigil.page.PageHistory;
import io.pgvigil.statements.StatementsHour;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;

/**
 * Runs a poll as soon as the service has started, then every {@code pgvigil.interval}; a poll still
 * running when the next is due makes it skip. The first poll does not wait for the scheduler: Quarkus'
 * simple scheduler looks at its triggers once a second, on the second, so its first run would come up
 * to a second after start-up.
 */
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

    private static final Logger LOG = Logger.getLogger(Poller.class);

    /** Set while a poll runs: the first poll runs outside the scheduler, which cannot skip for it. */
    private final AtomicBoolean running = new AtomicBoolean();

    /** After {@code ConfigGate} (priority 1), so a refused configuration never polls. */
    void firstPoll(@Observes StartupEvent event) {
        Thread first = new Thread(() -> {
            try {
                poll();
            } catch (RuntimeException | Error e) {
                // The scheduler logs a failed run; this thread is not the scheduler's. The next scheduled poll goes on.
                LOG.error("the first poll failed", e);
            }
        }, "pgvigil-first-poll");
        first.setDaemon(true);
        first.start();
    }

    @Scheduled(identity = "pgvigil-poll", every = "${pgvigil.interval}", delayed = "${pgvigil.interval}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void poll() {
        if (!running.compareAndSet(false, true)) {
            return;
        }
        try {
            PollState state = monitor.poll();
            latest.set(state);
            publisher.publish(state);
            history.record(state);
            statementsHour.record(state);
        } finally {
            running.set(false);
        }
    }
}
