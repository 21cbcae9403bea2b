package io.pgvigil.service;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

import io.pgvigil.page.PageHeaders;
import io.pgvigil.testing.Browser;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.PgTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;

/**
 * The page at {@code /} in a real headless Chromium, against the running service watching a real
 * PostgreSQL with open findings (slow query, N+1, duplicate index in a database and on a table with
 * hostile names, lock wait) and {@code pgvigil.api.token} set: nothing shows until the token is given;
 * then each finding shows with its text, the N+1 pair shows both statements, hostile names render as
 * text (no element injected, no script run), no request leaves the origin, the console stays clean, the
 * keyboard reaches every section, and a target that goes down is said so and comes back. Screenshots of
 * every section go to target/page-screenshots/.
 */
@QuarkusTest
@WithTestResource(PgTestResource.class)
@TestProfile(PageBrowserTest.Page.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PageBrowserTest {

    static final String TOKEN = "page-token-0123456789abcdef";
    static final String HOSTILE_DB = "shop <img src=x onerror=\"window.__pwned=1\"> 'q'\nline two";
    static final String HOSTILE_TABLE = "t<img src=x onerror=window.__pwned=2>";
    static final String HOSTILE_INDEX = "<script>window.__pwned=3</script>";
    static final String CHILD = "SELECT id, title FROM posts WHERE user_id = $1";
    static final String PARENT = "SELECT id FROM users ORDER BY id LIMIT $1";
    static final Path SHOTS = Path.of("target", "page-screenshots");

    public static class Page implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // n_plus_one opens once a pair has matched through a whole window: 5 s here rather than a minute.
            return Map.of("pgvigil.api.token", TOKEN, "pgvigil.checks.lock-wait.warning", "1s",
                    "pgvigil.checks.lock-wait.critical", "1h", "pgvigil.checks.n-plus-one.window", "5s");
        }
    }

    PgServer pg;

    @TestHTTPResource("/")
    URL root;

    static Browser browser;
    static Thread workload;
    static final AtomicBoolean stop = new AtomicBoolean();
    static Connection lockHolder;
    static Thread lockWaiter;
    static boolean prepared;

    @BeforeAll
    static void startBrowser() {
        browser = Browser.start();
    }

    @AfterAll
    static void stopAll() throws Exception {
        stop.set(true);
        if (lockHolder != null) {
            lockHolder.rollback();
            lockHolder.close();
        }
        if (workload != null) {
            workload.join(10_000);
        }
        if (lockWaiter != null) {
            lockWaiter.join(10_000);
        }
        if (browser != null) {
            browser.close();
        }
    }

    /** Once: the scenario, kept running in the background so that every finding stays open. */
    @BeforeEach
    void scenario() throws Exception {
        if (prepared) {
            return;
        }
        prepared = true;
        pg.recreateDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE users (id int PRIMARY KEY, name text)");
            st.execute("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 100) g");
            st.execute("CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL, title text)");
            st.execute("INSERT INTO posts (user_id, title) SELECT g % 100 + 1, 'post ' || g FROM generate_series(1, 1000) g");
            st.execute("CREATE INDEX ON posts (user_id)");
            st.execute("CREATE TABLE locked (id int)");
            st.execute("ANALYZE");
        }
        pg.execute("CREATE DATABASE " + quote(HOSTILE_DB));
        try (Connection c = pg.connect(HOSTILE_DB); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE " + quote(HOSTILE_TABLE) + " (a int, b int)");
            st.execute("CREATE INDEX " + quote(HOSTILE_INDEX) + " ON " + quote(HOSTILE_TABLE) + " (a)");
            st.execute("CREATE INDEX dup_ab ON " + quote(HOSTILE_TABLE) + " (a, b)");
        }
        // A lock wait: one session holds an ACCESS EXCLUSIVE lock, another waits for it.
        lockHolder = pg.connect("shop");
        lockHolder.setAutoCommit(false);
        try (Statement st = lockHolder.createStatement()) {
            st.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
        }
        lockWaiter = new Thread(() -> {
            try (Connection c = pg.connect("shop"); Statement st = c.createStatement()) {
                st.execute("SELECT count(*) FROM locked");
            } catch (SQLException e) {
                // ended by the holder's rollback or the server's stop: either is the end of the wait
            }
        }, "page-test-lock-waiter");
        lockWaiter.start();
        // A slow statement and an N+1 (one query per user after the list of users), over and over.
        workload = new Thread(() -> {
            try (Connection c = pg.connect("shop")) {
                while (!stop.get()) {
                    try {
                        List<Integer> ids = new ArrayList<>();
                        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM users ORDER BY id LIMIT ?")) {
                            ps.setInt(1, 100);
                            try (ResultSet rs = ps.executeQuery()) {
                                while (rs.next()) {
                                    ids.add(rs.getInt(1));
                                }
                            }
                        }
                        for (int id : ids) {
                            try (PreparedStatement ps = c.prepareStatement("SELECT id, title FROM posts WHERE user_id = ?")) {
                                ps.setInt(1, id);
                                ps.executeQuery().close();
                            }
                        }
                        try (Statement st = c.createStatement()) {
                            st.execute("SELECT pg_sleep(0.15)");
                        }
                    } catch (SQLException e) {
                        if (c.isClosed() || !c.isValid(1)) {
                            return; // the target went down in the last test; the workload is over
                        }
                    }
                }
            } catch (SQLException e) {
                // the server is gone
            }
        }, "page-test-workload");
        workload.setDaemon(true);
        workload.start();
        PgServer.await("slow_query, n_plus_one, duplicate_index and lock_wait open", () -> {
            JsonPath f = given().header("Authorization", "Bearer " + TOKEN).get("/api/v1/findings").then().extract()
                    .jsonPath();
            List<String> checks = f.getList("items.check");
            return checks != null && checks.containsAll(List.of("slow_query", "n_plus_one", "duplicate_index", "lock_wait"));
        });
    }

    static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    org.openqa.selenium.chrome.ChromeDriver d() {
        return browser.driver();
    }

    <T> T await(String what, Function<WebDriver, T> condition) {
        // The page redraws at every poll: an element found a moment ago may be gone, so look again.
        return new WebDriverWait(d(), Duration.ofSeconds(30)).withMessage(what)
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition);
    }

    String origin() {
        return root.getProtocol() + "://" + root.getHost() + ":" + root.getPort();
    }

    /** A screenshot from the top of the page. */
    void shot(Path file) {
        js("window.scrollTo(0, 0)");
        browser.screenshot(file);
    }

    Object js(String script, Object... args) {
        return browser.driver().executeScript(script, args);
    }

    @Test
    @Order(1)
    void withTheTokenSetNothingAppearsUntilItIsGiven() {
        d().get(origin() + "/#overview");
        WebElement form = await("the token form", x -> {
            WebElement e = x.findElement(By.id("token-form"));
            return e.isDisplayed() ? e : null;
        });
        assertThat(d().findElements(By.cssSelector("li.finding"))).isEmpty();
        String text = (String) js("return document.body.innerText");
        assertThat(text).doesNotContain("slow_query", "PostgreSQL", "posts", "pg_sleep");
        assertThat(d().findElement(By.id("token-input")).equals(d().switchTo().activeElement()))
                .as("the token field has the focus").isTrue();

        d().findElement(By.id("token-input")).sendKeys("not-the-token-000000", Keys.ENTER);
        await("the refusal", x -> x.findElement(By.id("token-error")).isDisplayed());
        assertThat(d().findElement(By.id("token-error")).getText()).isEqualTo("That token was refused.");
        assertThat(d().findElements(By.cssSelector("li.finding"))).isEmpty();
        assertThat(form.isDisplayed()).isTrue();

        d().findElement(By.id("token-input")).sendKeys(TOKEN, Keys.ENTER);
        await("findings after the token", x -> x.findElements(By.cssSelector("#overview li.finding")).size() >= 4);
        assertThat(form.isDisplayed()).isFalse();
        assertThat(js("return sessionStorage.getItem('pgvigil.api.token')")).isEqualTo(TOKEN);
        assertThat(js("return localStorage.length")).isEqualTo(0L);
        // The 401s of the token phase are in the console (Chrome reports them); nothing from here on.
        browser.forgetConsole();
    }

    @Test
    @Order(2)
    void everyOpenFindingShowsWithItsText() {
        d().get(origin() + "/#overview");
        JsonPath api = given().header("Authorization", "Bearer " + TOKEN).get("/api/v1/findings").then().statusCode(200)
                .extract().jsonPath();
        List<Map<String, Object>> findings = api.getList("items");
        await("every finding of the API on the page", x -> shown().keySet()
                .containsAll(findings.stream().map(f -> f.get("check") + "|" + f.get("subject")).toList()));
        Map<String, String> shown = shown();
        for (Map<String, Object> f : findings) {
            String key = f.get("check") + "|" + f.get("subject");
            // The API's message of the same poll or a later one: compare what does not change between polls.
            assertThat(shown.get(key)).as(key).isNotBlank();
            if (f.get("check").equals("duplicate_index")) {
                assertThat(shown.get(key)).as("hostile names, verbatim").isEqualTo(f.get("message"))
                        .contains(HOSTILE_DB, HOSTILE_TABLE.replace("\"", ""), HOSTILE_INDEX);
            }
        }
        assertThat(shown.keySet()).anyMatch(k -> k.startsWith("slow_query|")).anyMatch(k -> k.startsWith("n_plus_one|"))
                .anyMatch(k -> k.startsWith("lock_wait|")).anyMatch(k -> k.startsWith("duplicate_index|"));
        String slow = shown.entrySet().stream().filter(e -> e.getKey().startsWith("slow_query|")).findFirst().orElseThrow()
                .getValue();
        assertThat(slow).contains("pg_sleep");
        assertThat(d().findElements(By.cssSelector("#overview li.finding a.runbook"))).isNotEmpty();
        shot(SHOTS.resolve("overview.png"));
    }

    /** check|subject → the text of the finding's message, as the page shows it. */
    @SuppressWarnings("unchecked")
    Map<String, String> shown() {
        return (Map<String, String>) js("const m = {}; for (const li of document.querySelectorAll('#overview li.finding'))"
                + " m[li.dataset.check + '|' + li.dataset.subject] = li.querySelector('.message').textContent; return m;");
    }

    @Test
    @Order(3)
    void hostileNamesRenderAsTextAndRunNothing() {
        d().get(origin() + "/#relations");
        await("the duplicate index on the hostile table", x -> ((String) js("return document.getElementById('relations')"
                + ".textContent")).contains(HOSTILE_INDEX));
        // The fix, as data: the finding's advice, its identifier quoted, shown as code.
        assertThat((String) js("return [...document.querySelectorAll('#relations pre.sql')].map(p => p.textContent)"
                + ".join('\\n')")).contains("DROP INDEX CONCURRENTLY public.\"" + HOSTILE_INDEX + "\";");
        assertThat(js("return document.querySelectorAll('img').length")).as("no element injected").isEqualTo(0L);
        assertThat(js("return document.querySelectorAll('script').length")).as("only the page's module").isEqualTo(1L);
        assertThat(js("return window.__pwned === undefined")).as("no script ran").isEqualTo(true);
        // The status section lists the hostile database's visit, name intact, newline included.
        d().get(origin() + "/#status");
        await("the hostile database's visit", x -> ((String) js("return document.getElementById('status').textContent"))
                .contains(HOSTILE_DB));
        assertThat(js("return document.querySelectorAll('img').length")).isEqualTo(0L);
        assertThat(js("return window.__pwned === undefined")).isEqualTo(true);
        shot(SHOTS.resolve("status.png"));
        d().get(origin() + "/#relations");
        await("relations", x -> x.findElement(By.id("relations")).isDisplayed());
        shot(SHOTS.resolve("relations.png"));
    }

    @Test
    @Order(4)
    void theNPlusOnePairShowsBothStatementsAndTheChildsPageItsText() {
        d().get(origin() + "/#statements");
        // Text and child read in one look: the page redraws at every poll.
        List<String> pair = await("the N+1 pair", x -> x.findElements(By.cssSelector("#statements .pair")).stream()
                .filter(p -> p.getText().contains(CHILD)).findFirst()
                .map(p -> List.of(p.getText(), p.getDomAttribute("data-child"))).orElse(null));
        assertThat(pair.get(0)).contains(CHILD, PARENT);
        shot(SHOTS.resolve("statements.png"));
        String child = pair.get(1);
        await("the child's link clicked", x -> {
            x.findElement(By.cssSelector("#statements .pair[data-child='" + child + "'] h3 a.qid")).click();
            return true;
        });
        await("the child's page", x -> x.getCurrentUrl().endsWith("#statement/" + child)
                && x.findElement(By.id("statement")).getText().contains(CHILD));
        assertThat(d().findElement(By.id("statement")).getText()).contains("n_plus_one", PARENT);
        shot(SHOTS.resolve("statement.png"));
    }

    @Test
    @Order(5)
    void connectionsShowTheBlockingChainAndTheKeyboardReachesEverySection() {
        d().get(origin() + "/#overview");
        await("overview", x -> x.findElement(By.id("overview")).isDisplayed());
        // Tab from the skip link through the sections' links, each opened with Enter (which moves the focus
        // to the content, as a skip would: the next link is focused again to go on).
        js("document.querySelector('.skip').focus()");
        List<String> reached = new ArrayList<>();
        for (int i = 0; i < 12 && reached.size() < 6; i++) {
            new Actions(d()).sendKeys(Keys.TAB).perform();
            String section = (String) js("return document.activeElement.dataset.section || null");
            if (section != null && !reached.contains(section)) {
                new Actions(d()).sendKeys(Keys.ENTER).perform();
                await(section + " shown by Enter", x -> x.findElement(By.id(section)).isDisplayed()
                        && "page".equals(x.findElement(By.cssSelector("nav a[data-section='" + section + "']"))
                                .getDomAttribute("aria-current")));
                reached.add(section);
                js("document.querySelector(\"nav a[data-section='" + section + "']\").focus()");
            }
        }
        assertThat(reached).containsExactly("overview", "statements", "relations", "connections", "replication",
                "status");
        d().get(origin() + "/#connections");
        await("the blocking chain", x -> x.findElement(By.id("connections")).getText().contains("Root blocker"));
        assertThat(d().findElement(By.id("connections")).getText()).contains("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE",
                "usable slots");
        shot(SHOTS.resolve("connections.png"));
        d().get(origin() + "/#replication");
        await("replication", x -> x.findElement(By.id("replication")).getText().contains("Standbys"));
        shot(SHOTS.resolve("replication.png"));
        // A phone's width: one column, still readable.
        browser.size(390, 844);
        d().get(origin() + "/#overview");
        await("overview on a phone", x -> !x.findElements(By.cssSelector("#overview li.finding")).isEmpty());
        assertThat(js("return document.documentElement.scrollWidth <= window.innerWidth")).as("no sideways scrolling")
                .isEqualTo(true);
        shot(SHOTS.resolve("overview-phone.png"));
        browser.size(1280, 1000);
        // Dark, as a system set to dark asks for it.
        d().executeCdpCommand("Emulation.setEmulatedMedia",
                Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", "dark"))));
        d().get(origin() + "/#overview");
        await("overview in the dark", x -> !x.findElements(By.cssSelector("#overview li.finding")).isEmpty());
        assertThat(js("return getComputedStyle(document.body).backgroundColor")).isEqualTo("rgb(18, 22, 28)");
        shot(SHOTS.resolve("overview-dark.png"));
        d().executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
    }

    @Test
    @Order(6)
    void everyRequestStaysOnTheOriginUnderTheContentSecurityPolicyAndTheConsoleIsClean() {
        d().get(origin() + "/#overview");
        await("findings", x -> !x.findElements(By.cssSelector("#overview li.finding")).isEmpty());
        List<String> requests = browser.requests();
        assertThat(requests).isNotEmpty().allSatisfy(u -> assertThat(u).startsWith(origin() + "/"));
        assertThat(requests).anyMatch(u -> u.endsWith("/page/app.js")).anyMatch(u -> u.contains("/api/v1/findings"));
        assertThat(browser.console()).as("console since the token was given").isEmpty();
        for (String path : List.of("/", "/page/app.js", "/page/app.css", "/api/v1/status")) {
            given().get(path).then().header("Content-Security-Policy", PageHeaders.CSP)
                    .header("X-Content-Type-Options", "nosniff");
        }
        assertThat(PageHeaders.CSP).contains("default-src 'self'", "script-src 'self'").doesNotContain("unsafe");
    }

    @Test
    @Order(7)
    void aTargetThatGoesDownIsSaidSoAndThePageRecovers() throws Exception {
        d().get(origin() + "/#overview");
        await("up", x -> x.findElement(By.id("target-up")).getText().equals("up"));
        stop.set(true);
        lockHolder.rollback();
        lockHolder.close();
        lockHolder = null;
        workload.join(10_000);
        lockWaiter.join(10_000);
        pg.stop();
        try {
            await("the page says the target is down", x -> x.findElement(By.id("banner")).isDisplayed()
                    && x.findElement(By.id("banner")).getText().startsWith("The target is down")
                    && x.findElement(By.id("target-up")).getText().equals("down"));
            shot(SHOTS.resolve("target-down.png"));
        } finally {
            pg.startServer();
        }
        await("the page recovers", x -> x.findElement(By.id("target-up")).getText().equals("up")
                && !x.findElement(By.id("banner")).isDisplayed());
        assertThat(js("return location.hash")).isEqualTo("#overview");
        Set<String> shown = shown().keySet();
        assertThat(shown).noneMatch(k -> k.startsWith("lock_wait|"));
    }
}
