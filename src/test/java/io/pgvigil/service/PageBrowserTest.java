package io.pgvigil.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.Rectangle;
import org.openqa.selenium.WebElement;

import io.pgvigil.testing.PageDriver;
import io.pgvigil.testing.PageScenario;
import io.pgvigil.testing.PgTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The page's own behaviour in a real headless Chromium, against the {@code @QuarkusTest} service (so it
 * runs in the quick inner loop, without a packaged jar) with {@code pgvigil.api.token} set: a token an
 * HTTP header cannot carry is refused on submit with a clear message, the keyboard reaches every section,
 * sortable tables re-sort at a phone's width (the header buttons visible, by touch and by keyboard), and
 * the dark scheme. What the issue asks of the packaged service with open findings (each finding's text,
 * the N+1 pair, hostile names, links to rows, no request leaving the origin, the target going down) is
 * {@link PageBrowserIT}'s.
 */
@QuarkusTest
@WithTestResource(PgTestResource.class)
@TestProfile(PageBrowserTest.Page.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PageBrowserTest {

    public static class Page implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("pgvigil.api.token", PageScenario.TOKEN);
        }
    }

    @TestHTTPResource("/")
    URL root;

    static PageDriver page;

    @BeforeEach
    void browser() {
        if (page == null) {
            page = new PageDriver(root.getProtocol() + "://" + root.getHost() + ":" + root.getPort());
        }
    }

    @AfterAll
    static void close() {
        if (page != null) {
            page.close();
            page = null;
        }
    }

    @Test
    @Order(1)
    void aTokenAHeaderCannotCarryIsRefusedOnSubmitWithAClearMessage() {
        page.open("#overview");
        page.await("the token form", x -> x.findElement(By.id("token-form")).isDisplayed());
        // 'ö' is Latin-1 (a header can carry it), '€' is not: fetch() would throw on it.
        page.giveToken("t\u00f6ken-\u20ac-1");
        page.await("the message", x -> x.findElement(By.id("token-error")).isDisplayed());
        assertThat(page.find("#token-error").getText()).startsWith("That token cannot be sent: it contains \u201c\u20ac\u201d "
                + "(U+20AC), and an HTTP header carries only ISO-8859-1 (Latin-1) characters.");
        assertThat(page.js("return sessionStorage.getItem('pgvigil.api.token')")).isNull();
        assertThat(page.find("#token-form").isDisplayed()).isTrue();
        assertThat(page.browser().console()).noneMatch(m -> m.contains("TypeError") || m.contains("ISO-8859-1"));
        page.giveToken(PageScenario.TOKEN);
        page.await("the overview after the right token", x -> x.findElement(By.id("overview")).getText()
                .contains("Open findings"));
        assertThat(page.find("#token-error").isDisplayed()).isFalse();
        page.browser().forgetConsole();
    }

    @Test
    @Order(2)
    void theKeyboardReachesEverySection() {
        page.open("#overview");
        page.await("overview", x -> x.findElement(By.id("overview")).isDisplayed());
        // Tab from the skip link through the sections' links, each opened with Enter (which moves the focus
        // to the content, as a skip would: the next link is focused again to go on).
        page.js("document.querySelector('.skip').focus()");
        List<String> reached = new ArrayList<>();
        for (int i = 0; i < 12 && reached.size() < 6; i++) {
            page.key(Keys.TAB);
            String section = (String) page.js("return document.activeElement.dataset.section || null");
            if (section != null && !reached.contains(section)) {
                page.key(Keys.ENTER);
                page.await(section + " shown by Enter", x -> x.findElement(By.id(section)).isDisplayed()
                        && "page".equals(x.findElement(By.cssSelector("nav a[data-section='" + section + "']"))
                                .getDomAttribute("aria-current")));
                reached.add(section);
                page.js("document.querySelector(\"nav a[data-section='" + section + "']\").focus()");
            }
        }
        assertThat(reached).containsExactly("overview", "statements", "relations", "connections", "replication",
                "status");
    }

    @SuppressWarnings("unchecked")
    List<String> collectors() {
        return (List<String>) page.js("return [...document.querySelectorAll('#collectors-table tbody tr td:first-child')]"
                + ".map(td => td.textContent)");
    }

    @Test
    @Order(3)
    void sortableTablesReSortAtAPhonesWidthByTouchAndKeyboard() {
        page.browser().size(390, 844);
        try {
            page.open("#status");
            page.await("the collectors", x -> !x.findElements(By.cssSelector("#collectors-table tbody tr")).isEmpty());
            WebElement button = page.find("#collectors-table thead th:first-child button.sort");
            assertThat(button.isDisplayed()).isTrue();
            Rectangle r = button.getRect();
            assertThat(r.getX()).isGreaterThanOrEqualTo(0);
            assertThat(r.getX() + r.getWidth()).isLessThanOrEqualTo(390);
            assertThat(r.getHeight()).as("a touch target").isGreaterThanOrEqualTo(28);
            assertThat(page.js("return document.documentElement.scrollWidth <= window.innerWidth")).isEqualTo(true);
            // The keyboard: Tab from the section's top reaches the button; Enter sorts, Enter again reverses.
            page.js("document.getElementById('main').focus()");
            for (int i = 0; i < 40 && !(Boolean) page.js("return document.activeElement.matches("
                    + "'#collectors-table thead th:first-child button.sort')"); i++) {
                page.key(Keys.TAB);
            }
            assertThat(page.js("return document.activeElement.textContent")).isEqualTo("collector");
            page.key(Keys.ENTER);
            page.await("sorted by collector", x -> "ascending".equals(page.js(
                    "return document.querySelector('#collectors-table thead th:first-child').getAttribute('aria-sort')")));
            List<String> ascending = collectors();
            assertThat(ascending).isSortedAccordingTo(String::compareTo).hasSizeGreaterThan(3);
            page.shotHere("status-phone-sorted.png");
            page.key(Keys.ENTER);
            page.await("reversed", x -> "descending".equals(page.js(
                    "return document.querySelector('#collectors-table thead th:first-child').getAttribute('aria-sort')")));
            assertThat(collectors()).isSortedAccordingTo((a, b) -> b.compareTo(a));
            // By touch (a click), on another column.
            page.find("#collectors-table thead th:nth-child(3) button.sort").click();
            page.await("sorted by duration", x -> "descending".equals(page.js(
                    "return document.querySelector('#collectors-table thead th:nth-child(3)').getAttribute('aria-sort')")));
            page.shot("status-phone.png");
        } finally {
            page.browser().size(1280, 1000);
        }
    }

    @Test
    @Order(4)
    void darkAsTheSystemAsksForIt() {
        page.d().executeCdpCommand("Emulation.setEmulatedMedia",
                Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", "dark"))));
        try {
            page.open("#overview");
            page.await("overview in the dark", x -> x.findElement(By.id("overview")).getText().contains("Open findings"));
            assertThat(page.js("return getComputedStyle(document.body).backgroundColor")).isEqualTo("rgb(18, 22, 28)");
            page.shot("overview-dark.png");
        } finally {
            page.d().executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
        }
        assertThat(page.browser().console()).as("console since the token was given").isEmpty();
    }
}
