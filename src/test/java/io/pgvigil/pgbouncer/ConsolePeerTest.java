package io.pgvigil.pgbouncer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The console client against a server that is not the PgBouncer pgvigil was configured for and breaks
 * SCRAM (RFC 5802/7677) or stretches the login on purpose: what a real PgBouncer never does, so these
 * cases are played by a scripted peer on a local socket. The honest SCRAM login is tested against the real PgBouncer in
 * {@link PgBouncerTest}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ConsolePeerTest {

    private final ExecutorService peer = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        peer.shutdownNow();
    }

    /**
     * Starts a peer that offers SCRAM-SHA-256, reads the client-first message, answers with the
     * server-first message {@code serverFirst} builds from the client's nonce, then sends {@code after}
     * (raw messages) once the client-final message arrived.
     */
    private int scriptedPeer(Function<String, String> serverFirst, byte[] after) throws IOException {
        ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Future<?> unused = peer.submit(() -> {
            try (server; Socket s = server.accept()) {
                s.setSoTimeout(20_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                in.readFully(new byte[in.readInt() - 4]); // startup packet
                out.write(auth(10, "SCRAM-SHA-256\0\0".getBytes(StandardCharsets.US_ASCII)));
                out.flush();
                byte[] first = readMessage(in, 'p');
                String clientFirst = new String(first, StandardCharsets.UTF_8);
                String nonce = clientFirst.substring(clientFirst.indexOf("r=") + 2);
                out.write(auth(11, serverFirst.apply(nonce).getBytes(StandardCharsets.UTF_8)));
                out.flush();
                readMessage(in, 'p');
                out.write(after);
                out.flush();
                in.read(); // wait for the client to hang up
            }
            return null;
        });
        return server.getLocalPort();
    }

    private static byte[] readMessage(DataInputStream in, char expected) throws IOException {
        char type = (char) in.readUnsignedByte();
        byte[] body = new byte[in.readInt() - 4];
        in.readFully(body);
        assertThat(type).isEqualTo(expected);
        return body;
    }

    private static byte[] auth(int code, byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeByte('R');
        d.writeInt(8 + data.length);
        d.writeInt(code);
        d.write(data);
        return b.toByteArray();
    }

    private static byte[] okAndReady() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(auth(0, new byte[0]));
        b.write(new byte[] { 'Z', 0, 0, 0, 5, 'I' });
        return b.toByteArray();
    }

    private static SQLException login(int port) {
        try (ConsoleConnection c = ConsoleConnection.open("127.0.0.1", port, "stats", "secret", "pgvigil",
                Duration.ofSeconds(1), Duration.ofSeconds(5))) {
            throw new AssertionError("logged in to a peer that never proved it knows the password (" + c.authMethod() + ")");
        } catch (SQLException e) {
            return e;
        }
    }

    @Test
    void aPeerThatTricklesMessagesCannotStretchTheLoginPastTheConnectTimeout() throws Exception {
        ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Future<?> unused = peer.submit(() -> {
            try (server; Socket s = server.accept()) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                in.readFully(new byte[in.readInt() - 4]);
                out.write(auth(0, new byte[0]));
                byte[] status = "client_encoding\0UTF8\0".getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < 40; i++) { // a ParameterStatus every 250 ms, never ReadyForQuery
                    out.writeByte('S');
                    out.writeInt(4 + status.length);
                    out.write(status);
                    out.flush();
                    Thread.sleep(250);
                }
            }
            return null;
        });
        long start = System.nanoTime();
        SQLException e = login(server.getLocalPort());
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(e.getSQLState()).isEqualTo("08001");
        assertThat(e.getMessage()).contains("the login did not complete within 1000 ms");
        assertThat(seconds).as("one deadline for the whole login").isLessThan(2.5);
    }

    @Test
    void authenticationOkWithoutTheServerSignatureIsRefused() throws Exception {
        int port = scriptedPeer(nonce -> "r=" + nonce + "srv,s=c2FsdHNhbHRzYWx0,i=4096", okAndReady());
        SQLException e = login(port);
        assertThat(e.getSQLState()).isEqualTo("28000");
        assertThat(e.getMessage()).contains("without proving it knows the password");
    }

    @Test
    void aWrongServerSignatureIsRefused() throws Exception {
        ByteArrayOutputStream after = new ByteArrayOutputStream();
        after.write(auth(12, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".getBytes(StandardCharsets.US_ASCII)));
        after.write(okAndReady());
        SQLException e = login(scriptedPeer(nonce -> "r=" + nonce + "srv,s=c2FsdHNhbHRzYWx0,i=4096", after.toByteArray()));
        assertThat(e.getSQLState()).isEqualTo("28000");
        assertThat(e.getMessage()).contains("signature does not match");
    }

    @Test
    void anIterationCountNoServerUsesIsRefusedBeforeHashing() throws Exception {
        // 2^31-1 rounds of PBKDF2 would keep the poll's thread busy for hours.
        SQLException e = login(scriptedPeer(nonce -> "r=" + nonce + "srv,s=c2FsdHNhbHRzYWx0,i=2147483647", okAndReady()));
        assertThat(e.getSQLState()).isEqualTo("08P01");
        assertThat(e.getMessage()).contains("2147483647 SCRAM iterations", "1 to 1000000");
    }

    @Test
    void aServerNonceThatDoesNotExtendTheClientsIsRefused() throws Exception {
        SQLException e = login(scriptedPeer(nonce -> "r=" + nonce + ",s=c2FsdHNhbHRzYWx0,i=4096", okAndReady()));
        assertThat(e.getSQLState()).isEqualTo("08P01");
        assertThat(e.getMessage()).contains("nonce must extend");
    }

    @Test
    void aMandatoryExtensionIsRefused() throws Exception {
        SQLException e = login(scriptedPeer(nonce -> "m=ext,r=" + nonce + "srv,s=c2FsdHNhbHRzYWx0,i=4096", okAndReady()));
        assertThat(e.getSQLState()).isEqualTo("08P01");
        assertThat(e.getMessage()).contains("mandatory extension");
    }
}
