package io.pgvigil.statements.orm;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.function.Consumer;

import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import jakarta.persistence.Persistence;
import jakarta.persistence.PersistenceConfiguration;

import io.pgvigil.testing.PgServer;

/**
 * An application on Hibernate ORM over one database of a real server: plain JPA bootstrap (no
 * persistence.xml, no Quarkus), the {@link Entities}, one EntityManager (one persistence context,
 * the identity map) per request, as a web application has.
 */
public final class OrmApp implements AutoCloseable {

    private final EntityManagerFactory emf;

    private OrmApp(EntityManagerFactory emf) {
        this.emf = emf;
    }

    /**
     * Creates the tables in {@code database} (recreated first) and fills them: 300 users; 30 customers
     * with 4 invoices each; 400 purchases over 200 users; 5 projects of 6 tasks, each task with 4
     * comments, a distinct assignee per task and a distinct author per comment.
     */
    public static void createShop(PgServer pg, String database) throws SQLException {
        pg.recreateDatabase(database);
        open(pg, database, Map.of("jakarta.persistence.schema-generation.database.action", "create")).close();
        try (Connection c = pg.connect(database); Statement st = c.createStatement()) {
            st.execute("INSERT INTO app_user (id, name) SELECT g, 'user ' || g FROM generate_series(1, 300) g");
            st.execute("INSERT INTO customer (id, name) SELECT g, 'customer ' || g FROM generate_series(1, 30) g");
            st.execute("INSERT INTO invoice (id, cents, customer_id) SELECT g, g * 100, (g - 1) / 4 + 1 FROM generate_series(1, 120) g");
            st.execute("SELECT setseed(0.15)");
            st.execute("INSERT INTO purchase (id, user_id) SELECT g, 1 + floor(random() * 200)::int FROM generate_series(1, 400) g");
            st.execute("INSERT INTO project (id, name) SELECT g, 'project ' || g FROM generate_series(1, 5) g");
            st.execute("INSERT INTO task (id, title, project_id, assignee_id) SELECT g, 'task ' || g, (g - 1) / 6 + 1, 100 + g FROM generate_series(1, 30) g");
            st.execute("INSERT INTO task_comment (id, body, task_id, author_id) SELECT g, 'comment ' || g, (g - 1) / 4 + 1, 130 + g FROM generate_series(1, 120) g");
            st.execute("ANALYZE");
        }
    }

    /** An application on {@code database}, with extra Hibernate or JPA properties. */
    public static OrmApp open(PgServer pg, String database, Map<String, String> properties) {
        PersistenceConfiguration cfg = new PersistenceConfiguration("pgvigil-" + database);
        Entities.ALL.forEach(cfg::managedClass);
        cfg.property(PersistenceConfiguration.JDBC_URL, pg.jdbcUrl(database) + "?ApplicationName=orm-app");
        cfg.property(PersistenceConfiguration.JDBC_USER, "postgres");
        cfg.property(PersistenceConfiguration.JDBC_PASSWORD, "");
        cfg.property("hibernate.connection.pool_size", "2");
        cfg.property("hibernate.show_sql", "false");
        properties.forEach(cfg::property);
        return new OrmApp(Persistence.createEntityManagerFactory(cfg));
    }

    /** One request: its own persistence context, in one read-only transaction. */
    public void request(Consumer<EntityManager> work) {
        EntityManager em = emf.createEntityManager();
        try {
            em.getTransaction().begin();
            work.accept(em);
            em.getTransaction().commit();
        } finally {
            em.close();
        }
    }

    @Override
    public void close() {
        emf.close();
    }
}
