package io.pgvigil.target;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgvigil.core.PollState;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * TLS to the target with {@code sslmode=verify-full}: a CA and a server certificate for
 * {@code localhost} are made for the test with the JDK's keytool, the server is started with them, and
 * pgvigil connects with the CA file in {@code sslrootcert} — as deploy/k8s/overlays/standalone mounts it.
 * A certificate from another CA and a host name the certificate does not name are refused, and the
 * poll says why.
 */
class TlsTest {

    private static final String STOREPASS = "keystore-pass-1";
    private static Path dir;
    private static PgServer pg;

    @BeforeAll
    static void startServerWithCertificate() throws Exception {
        dir = Files.createTempDirectory("pgvigil-tls-");
        makeCa("ca");
        makeCa("other-ca");
        keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost",
                "-validity", "2", "-keystore", "server.p12", "-storetype", "PKCS12", "-storepass", STOREPASS);
        keytool("-certreq", "-alias", "server", "-keystore", "server.p12", "-storepass", STOREPASS, "-file",
                "server.csr");
        keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-storepass", STOREPASS, "-infile", "server.csr",
                "-outfile", "server.crt", "-rfc", "-ext", "san=dns:localhost", "-validity", "2");
        writePrivateKey("server.p12", "server", dir.resolve("server.key"));
        pg = PgServer.start(PgServer.defaultMajor(), Map.of("ssl", "on",
                "ssl_cert_file", dir.resolve("server.crt").toString(),
                "ssl_key_file", dir.resolve("server.key").toString()));
    }

    @AfterAll
    static void stop() throws IOException {
        if (pg != null) {
            pg.close();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void verifyFullWithTheCaFileConnectsOverTls() throws Exception {
        String url = pg.jdbcUrl("postgres") + "?sslmode=verify-full&sslrootcert=" + dir.resolve("ca.crt");
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.url", url)) {
            PollState state = m.poll();
            assertThat(state.up()).as(String.valueOf(state.error())).isTrue();
            try (Connection admin = pg.connect("postgres")) {
                assertThat(pg.queryLong(admin, "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
                        + " WHERE a.application_name = 'pgvigil' AND s.ssl AND s.version LIKE 'TLS%'"))
                        .as("pgvigil's session is encrypted").isEqualTo(1);
            }
            assertThat(m.scrape()).contains("pg_up 1.0\n");
        }
    }

    @Test
    void certificateFromAnotherCaIsRefused() {
        String url = pg.jdbcUrl("postgres") + "?sslmode=verify-full&sslrootcert=" + dir.resolve("other-ca.crt");
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.url", url)) {
            PollState state = m.poll();
            assertThat(state.up()).isFalse();
            assertThat(state.error()).contains("SSL error", "PKIX path")
                    .doesNotContain(PgServer.MONITOR_PASSWORD);
        }
    }

    @Test
    void hostNameTheCertificateDoesNotNameIsRefused() {
        // The certificate names localhost only; 127.0.0.1 is the same server but not the same name.
        String url = "jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres?sslmode=verify-full&sslrootcert="
                + dir.resolve("ca.crt");
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.url", url)) {
            PollState state = m.poll();
            assertThat(state.up()).isFalse();
            assertThat(state.error()).contains("hostname 127.0.0.1 could not be verified");
        }
    }

    private static void makeCa(String alias) throws Exception {
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-dname",
                "CN=pgvigil test " + alias, "-ext", "bc:c", "-validity", "2", "-keystore", alias + ".p12",
                "-storetype", "PKCS12", "-storepass", STOREPASS);
        keytool("-exportcert", "-alias", "ca", "-keystore", alias + ".p12", "-storepass", STOREPASS, "-rfc",
                "-file", alias + ".crt");
    }

    /** PostgreSQL reads a PEM key (PKCS#8 here) that only its owner may read. */
    private static void writePrivateKey(String keystore, String alias, Path target) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(dir.resolve(keystore))) {
            ks.load(in, STOREPASS.toCharArray());
        }
        byte[] der = ks.getKey(alias, STOREPASS.toCharArray()).getEncoded();
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der) + "\n-----END PRIVATE KEY-----\n";
        Files.writeString(target, pem);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
    }

    private static void keytool(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("keytool %s: %s", String.join(" ", args), out).isZero();
    }
}
