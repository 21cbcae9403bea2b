package io.pgvigil.service;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** The tests of {@link ServiceTest}, against the packaged application (target/quarkus-app). */
@QuarkusIntegrationTest
public class PackagedServiceIT extends ServiceTest {
}
