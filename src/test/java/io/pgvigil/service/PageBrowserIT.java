package io.pgvigil.service;

import static io.pgvigil.testing.PageScenario.CHILD;
import static io.pgvigil.testing.PageScenario.HOSTILE_DB;
import static io.pgvigil.testing.PageScenario.HOSTILE_INDEX;
import static io.pgvigil.testing.PageScenario.HOSTILE_TABLE;
import static io.pgvigil.testing.PageScenario.LOCK;
import static io.pgvigil.testing.PageScenario.PARENT;
import static io.pgvigil.testing.PageScenario.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.page.PageHeaders;
import io.pgvigil.testing.PackagedApp;
import io.pgvigil.testing.PageDriver;
import io.pgvigil.testing.PageScenario;
import io.pgvigil.testing.PgServer;

/**
 * The page at {@code /} of the packaged service ({@code java -jar}) in a real headless Chromium, the
 * service watching a real PostgreSQL with open findings (slow query, N+1, lock wait, a duplicate index in
 * a database and on a table with hostile names: {@link PageScenario}) and {@code pgvigil.api.token} set:
 * nothing shows until the token is given; each finding shows with its text and links to its subject's
 * row, which opening that link directly selects too; the statements of the interval and of the hour and
 * the N+1 pair's both statements; hostile names render as text (no element injected, no script run); no
 * request leaves the origin; the console stays clean; a target that goes down is said so and comes back.
 * Screenshots of every section go to target/page-screenshots/. (What needs no packaged service, the
 * keyboard, sorting at a phone's width, the dark scheme and the token's characters, is PageBrowserTest's.)
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PageBrowserIT {

    static final ObjectMapper JSON = new ObjectMapper();

    static PgServer pg;
    static PageScenario scenario;
    static PackagedApp app;
    static PageDriver page;

    @BeforeAll
    static void start() throws Exception {
        pg = PgServer.start(PgServer.defaultMajor());
        scenario = PageScenario.start(pg);
        Map<String, String> props = new HashMap<>(PageScenario.CONFIG);
        props.putAll(Map.of("pgvigil.interval", "1s", "pgvigil.indexes.interval", "1s",
                "pgvigil.target.url", pg.jdbcUrl("postgres"), "pgvigil.target.username", PgServer.MONITOR_ROLE,
                "pgvigil.target.password", PgServer.MONITOR_PASSWORD));
        app = PackagedApp.start(props);
        page = new PageDriver("http://localhost:" + app.port());
        PageScenario.awaitFindings(() -> app.getWithToken("/api/v1/findings", TOKEN).body());
    }

    @AfterAll
    static void stop() throws Exception {
        if (page != null) {
            page.close();
        }
        if (scenario != null) {
            scenario.close();
        }
        if (app != null) {
            app.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    static JsonNode api(String path) throws Exception {
        HttpResponse<String> r = app.getWithToken(path, TOKEN);
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    static List<JsonNode> findings() throws Exception {
        List<JsonNode> items = new ArrayList<>();
        api("/api/v1/findings").path("items").forEach(items::add);
        return items;
    }

    static JsonNode finding(String check) throws Exception {
        return findings().stream().filter(f -> f.path("check").asText().equals(check)).findFirst().orElseThrow();
    }

    /** A message with its numbers masked: the page's and the API's are read at different polls. */
    static String masked(String message) {
        return message.replaceAll("\\d+(?:[.,]\\d+)*", "#");
    }

    /** The API's message of the open finding check|subject, null when it is not open now. */
    static String message(String key) {
        try {
            return findings().stream().filter(f -> key.equals(f.path("check").asText() + "|" + f.path("subject").asText()))
                    .map(f -> f.path("message").asText()).findFirst().orElse(null);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    String text(String id) {
        return (String) page.js("return document.getElementById(arguments[0]).textContent", id);
    }

    @Test
    @Order(1)
    void withTheTokenSetNothingAppearsUntilItIsGiven() {
        page.open("#overview");
        WebElement form = page.await("the token form", x -> {
            WebElement e = x.findElement(By.id("token-form"));
            return e.isDisplayed() ? e : null;
        });
        assertThat(page.d().findElements(By.cssSelector("li.finding"))).isEmpty();
        assertThat((String) page.js("return document.body.innerText")).doesNotContain("slow_query", "PostgreSQL",
                "posts", "pg_sleep");
        assertThat(page.find("#token-input").equals(page.d().switchTo().activeElement())).as("the field has the focus")
                .isTrue();
        page.giveToken("not-the-token-000000");
        page.await("the refusal", x -> x.findElement(By.id("token-error")).isDisplayed());
        assertThat(page.find("#token-error").getText()).isEqualTo("That token was refused.");
        assertThat(page.d().findElements(By.cssSelector("li.finding"))).isEmpty();
        assertThat(form.isDisplayed()).isTrue();

        page.giveToken(TOKEN);
        page.await("findings after the token", x -> x.findElements(By.cssSelector("#overview li.finding")).size() >= 4);
        assertThat(form.isDisplayed()).isFalse();
        assertThat(page.js("return sessionStorage.getItem('pgvigil.api.token')")).isEqualTo(TOKEN);
        assertThat(page.js("return localStorage.length")).isEqualTo(0L);
        // The 401s of the token phase are in the console (Chrome reports them); nothing from here on.
        page.browser().forgetConsole();
    }

    @Test
    @Order(2)
    void everyOpenFindingShowsWithItsText() throws Exception {
        page.open("#overview");
        List<JsonNode> findings = findings();
        page.await("every finding of the API on the page", x -> page.shownFindings().keySet().containsAll(
                findings.stream().map(f -> f.path("check").asText() + "|" + f.path("subject").asText()).toList()));
        for (JsonNode f : findings) {
            String key = f.path("check").asText() + "|" + f.path("subject").asText();
            // The API's message, word for word; its numbers (durations, calls, matched polls) move from poll to
            // poll, and the page's refresh and this request see different ones: masked, and asked again.
            String[] last = new String[2];
            page.await(key + ": the page shows the API's message", x -> {
                last[0] = page.shownFindings().get(key);
                last[1] = message(key);
                return last[0] != null && last[1] != null && masked(last[0]).equals(masked(last[1]));
            });
            assertThat(last[0]).as(key).isNotBlank();
            if (f.path("check").asText().equals("duplicate_index")) {
                assertThat(last[0]).as("hostile names, verbatim").isEqualTo(last[1])
                        .contains(HOSTILE_DB, HOSTILE_TABLE, HOSTILE_INDEX);
            }
        }
        Map<String, String> shown = page.shownFindings();
        assertThat(shown.keySet()).anyMatch(k -> k.startsWith("slow_query|")).anyMatch(k -> k.startsWith("n_plus_one|"))
                .anyMatch(k -> k.startsWith("lock_wait|")).anyMatch(k -> k.startsWith("duplicate_index|"));
        assertThat(shown.entrySet().stream().filter(e -> e.getKey().startsWith("slow_query|")).findFirst().orElseThrow()
                .getValue()).contains("pg_sleep");
        assertThat(shown.entrySet().stream().filter(e -> e.getKey().startsWith("lock_wait|")).findFirst().orElseThrow()
                .getValue()).contains("wait", "shop");
        assertThat(page.d().findElements(By.cssSelector("#overview li.finding a.runbook"))).isNotEmpty();
        page.shot("overview.png");
    }

    @Test
    @Order(3)
    void hostileNamesRenderAsTextAndRunNothing() throws Exception {
        page.open("#relations");
        page.await("the duplicate index on the hostile table", x -> text("relations").contains(HOSTILE_INDEX));
        assertThat((String) page.js("return [...document.querySelectorAll('#relations pre.sql')].map(p => p.textContent)"
                + ".join('\\n')")).contains("DROP INDEX CONCURRENTLY public.\"" + HOSTILE_INDEX + "\";");
        // The subject, newline included, is the link's text, on a line of its own.
        String subject = finding("duplicate_index").path("subject").asText();
        assertThat(subject).contains("\n");
        @SuppressWarnings("unchecked")
        List<String> links = (List<String>) page.js("return [...document.querySelectorAll('#relations a.subject-link')]"
                + ".map(a => a.textContent)");
        assertThat(links).contains(subject);
        assertThat(page.js("return getComputedStyle(document.querySelector('#relations .finding-head .subject'))"
                + ".whiteSpace")).isEqualTo("pre-wrap");
        // No element injected: the names' <img> and <script> stayed text. (Whether an injected one would run
        // is not asked: the Content-Security-Policy forbids inline script and handlers anyway, so only the
        // count of elements can fail.)
        assertThat(page.js("return document.querySelectorAll('img').length")).as("no element injected").isEqualTo(0L);
        assertThat(page.js("return document.querySelectorAll('script').length")).as("only the page's module")
                .isEqualTo(1L);
        page.shot("relations.png");
        page.open("#status");
        page.await("the hostile database's visit", x -> text("status").contains(HOSTILE_DB));
        assertThat(page.js("return document.querySelectorAll('img').length")).isEqualTo(0L);
        assertThat(page.js("return document.querySelectorAll('script').length")).isEqualTo(1L);
        page.shot("status.png");
    }

    @Test
    @Order(4)
    void theStatementsOfTheIntervalAndTheHourAndBothStatementsOfTheNPlusOnePair() throws Exception {
        page.open("#statements");
        List<String> pair = page.await("the N+1 pair", x -> x.findElements(By.cssSelector("#statements .pair")).stream()
                .filter(p -> p.getText().contains(CHILD)).findFirst()
                .map(p -> List.of(p.getText(), p.getDomAttribute("data-child"))).orElse(null));
        assertThat(pair.get(0)).contains(CHILD, PARENT);
        // The interval: the rows are the API's statements of the last interval (asked again until the page's
        // refresh and this request read the same interval's set), each with its text and its calls.
        String[] ids = new String[1];
        page.await("the interval's table holds the API's statements", x -> {
            @SuppressWarnings("unchecked")
            List<String> keys = (List<String>) page.js("return [...document.querySelectorAll('#statements-table tbody tr')]"
                    + ".map(tr => tr.dataset.key)");
            List<String> api;
            try {
                api = new ArrayList<>();
                api("/api/v1/statements?order=total_time&limit=50").path("items").forEach(i -> api.add(i.path("queryId").asText()));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            ids[0] = String.join(",", api);
            return !keys.isEmpty() && new java.util.HashSet<>(keys).equals(new java.util.HashSet<>(api));
        });
        @SuppressWarnings("unchecked")
        List<Map<String, String>> rows = (List<Map<String, String>>) page.js("return [...document.querySelectorAll("
                + "'#statements-table tbody tr')].map(tr => Object.fromEntries([...tr.cells].map(td => [td.dataset.label, td.textContent])))");
        assertThat(rows).as(ids[0]).anySatisfy(r -> {
            assertThat(r.get("query")).isEqualTo(CHILD);
            assertThat(r.get("database")).isEqualTo("shop");
            assertThat(Long.parseLong(r.get("calls").replace(",", ""))).isPositive();
        }).anySatisfy(r -> assertThat(r.get("query")).isEqualTo(PARENT)).anySatisfy(r -> assertThat(r.get("query"))
                .contains("pg_sleep"));
        assertThat(text("statements")).containsPattern("\\d+ statements ran in the last ");
        // The hour: both statements of the pair, with their calls, and what "hour" covers here.
        page.await("the hour's table", x -> !x.findElements(By.cssSelector("#statements-hour-table")).isEmpty()
                && text("statements-hour-table").contains(CHILD) && text("statements-hour-table").contains(PARENT));
        assertThat(text("hour-note")).contains("pgvigil has counted for less than an hour");
        page.js("document.getElementById('statements-hour-table').scrollIntoView()");
        page.shotHere("statements-hour.png");
        page.shot("statements.png");
        String child = pair.get(1);
        page.await("the child's link clicked", x -> {
            x.findElement(By.cssSelector("#statements .pair[data-child='" + child + "'] h3 a.qid")).click();
            return true;
        });
        page.await("the child's page", x -> x.getCurrentUrl().endsWith("#statement/" + child)
                && x.findElement(By.id("statement")).getText().contains(CHILD));
        assertThat(page.find("#statement").getText()).contains("n_plus_one", PARENT);
        page.shot("statement.png");
    }

    @Test
    @Order(5)
    void aFindingLinksToItsSubjectsRowAndTheLinkOpenedDirectlySelectsItToo() throws Exception {
        Map<String, String[]> rows = Map.of("slow_query", new String[] { "statements", "" },
                "n_plus_one", new String[] { "statements", "" }, "duplicate_index", new String[] { "relations", "index:" },
                "lock_wait", new String[] { "connections", "locks:" });
        for (var e : rows.entrySet()) {
            String check = e.getKey();
            String subject = finding(check).path("subject").asText();
            String key = e.getValue()[1] + subject;
            String hash = "#" + e.getValue()[0] + "/" + URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20");
            page.open("#overview");
            page.await(check + "'s subject link, clicked", x -> {
                x.findElement(By.cssSelector("#overview li.finding[data-check='" + check + "'] a.subject-link")).click();
                return true;
            });
            page.await(check + ": its row selected and in view", x -> page.selected().contains(key) && page.selectedInView());
            assertThat(java.net.URLDecoder.decode(page.d().getCurrentUrl().replaceAll("^[^#]*", ""),
                    StandardCharsets.UTF_8)).isEqualTo(java.net.URLDecoder.decode(hash, StandardCharsets.UTF_8));
            if (check.equals("duplicate_index")) {
                page.shotHere("relations-row.png");
            }
            // The same URL opened afresh (a bookmark, a link sent to someone): the row is selected once the data came.
            page.d().get("about:blank");
            page.d().get(page.origin() + "/" + hash);
            page.await(check + ": opened directly, its row selected and in view",
                    x -> page.selected().contains(key) && page.selectedInView());
        }
        page.open("#relations/" + URLEncoder.encode("index:no.such.index", StandardCharsets.UTF_8));
        page.await("a row that is not there is said so", x -> !x.findElements(By.cssSelector("#relations .row-missing")).isEmpty());
    }

    @Test
    @Order(6)
    void connectionsShowTheBlockingChainAndAPhoneShowsOneColumn() {
        page.open("#connections");
        page.await("the blocking chain", x -> x.findElement(By.id("connections")).getText().contains("Root blocker"));
        assertThat(page.find("#connections").getText()).contains(LOCK, "usable slots");
        page.shot("connections.png");
        page.open("#replication");
        page.await("replication", x -> x.findElement(By.id("replication")).getText().contains("Standbys"));
        page.shot("replication.png");
        page.browser().size(390, 844);
        page.open("#overview");
        page.await("overview on a phone", x -> !x.findElements(By.cssSelector("#overview li.finding")).isEmpty());
        assertThat(page.js("return document.documentElement.scrollWidth <= window.innerWidth")).as("no sideways scrolling")
                .isEqualTo(true);
        page.js("document.querySelector('#overview li.finding').scrollIntoView()");
        page.shotHere("overview-phone.png");
        page.open("#statements");
        page.await("statements on a phone", x -> !x.findElements(By.cssSelector("#statements-table")).isEmpty());
        assertThat(page.js("return document.documentElement.scrollWidth <= window.innerWidth")).isEqualTo(true);
        page.js("document.getElementById('statements-table').scrollIntoView()");
        page.shotHere("statements-phone.png");
        page.browser().size(1280, 1000);
    }

    @Test
    @Order(7)
    void everyRequestStaysOnTheOriginUnderTheContentSecurityPolicyAndTheConsoleIsClean() {
        page.open("#overview");
        page.await("findings", x -> !x.findElements(By.cssSelector("#overview li.finding")).isEmpty());
        List<String> requests = page.browser().requests();
        assertThat(requests).isNotEmpty().allSatisfy(u -> assertThat(u).startsWith(page.origin() + "/"));
        assertThat(requests).anyMatch(u -> u.endsWith("/page/app.js")).anyMatch(u -> u.contains("/api/v1/findings"))
                .anyMatch(u -> u.contains("/api/v1/statements/hour"));
        assertThat(page.browser().console()).as("console since the token was given").isEmpty();
        for (String path : List.of("/", "/page/app.js", "/page/app.css", "/api/v1/status")) {
            assertThat(app.get(path).headers().firstValue("Content-Security-Policy")).as(path).hasValue(PageHeaders.CSP);
        }
        assertThat(PageHeaders.CSP).contains("default-src 'self'", "script-src 'self'").doesNotContain("unsafe");
    }

    @Test
    @Order(8)
    void aTargetThatGoesDownIsSaidSoAndThePageRecovers() throws Exception {
        page.open("#overview");
        page.await("up", x -> x.findElement(By.id("target-up")).getText().equals("up"));
        page.await("the duplicate index's finding", x -> page.shownFindings().keySet().stream()
                .anyMatch(k -> k.startsWith("duplicate_index|")));
        // A mark on this document: a reload (or any navigation away) would lose it.
        page.js("window.__sameDocument = 'yes'");
        scenario.stopWorkload();
        pg.stop();
        try {
            page.await("the page says the target is down", x -> x.findElement(By.id("banner")).isDisplayed()
                    && x.findElement(By.id("banner")).getText().startsWith("The target is down")
                    && x.findElement(By.id("target-up")).getText().equals("down"));
            assertThat(page.shownFindings()).as("no finding is judged while the target is down").isEmpty();
            page.shot("target-down.png");
        } finally {
            pg.startServer();
        }
        page.await("the page recovers", x -> x.findElement(By.id("target-up")).getText().equals("up")
                && !x.findElement(By.id("banner")).isDisplayed());
        // The findings come back by themselves: the duplicate index's at the next visit of its database.
        page.await("the duplicate index's finding again", x -> page.shownFindings().keySet().stream()
                .anyMatch(k -> k.startsWith("duplicate_index|")));
        assertThat(page.js("return window.__sameDocument")).as("without a reload").isEqualTo("yes");
        assertThat(page.js("return location.hash")).isEqualTo("#overview");
        assertThat(page.shownFindings().keySet()).noneMatch(k -> k.startsWith("lock_wait|"));
    }
}
