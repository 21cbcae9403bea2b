package io.pgvigil.core;

import java.time.Clock;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.quarkus.arc.DefaultBean;

/**
 * The clock polls, database visits and checks read time from ({@link Monitor} stamps each snapshot
 * with it; everything downstream uses the snapshot's time). Tests build the monitor with a clock
 * they advance instead of sleeping.
 */
@Singleton
public class Clocks {

    @Produces
    @Singleton
    @DefaultBean
    public Clock clock() {
        return Clock.systemUTC();
    }
}
