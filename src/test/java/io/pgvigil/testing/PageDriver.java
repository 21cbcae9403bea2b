package io.pgvigil.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page at {@code /} of one pgvigil (at {@code origin}) in a {@link Browser}: what the page tests
 * do with it (open a section, wait for what the page draws at its next refresh, run a script, take a
 * screenshot), in one place for the {@code @QuarkusTest} and the packaged-jar test.
 */
public final class PageDriver implements AutoCloseable {

    public static final Path SHOTS = Path.of("target", "page-screenshots");

    private final Browser browser;
    private final String origin;

    public PageDriver(String origin) {
        this.browser = Browser.start();
        this.origin = origin;
    }

    public Browser browser() {
        return browser;
    }

    public ChromeDriver d() {
        return browser.driver();
    }

    public String origin() {
        return origin;
    }

    /** Loads the page at {@code hash} (e.g. {@code #overview}). */
    public void open(String hash) {
        d().get(origin + "/" + hash);
    }

    /** Waits up to 30 s; the page redraws at every poll, so an element found a moment ago is looked for again. */
    public <T> T await(String what, Function<WebDriver, T> condition) {
        return new WebDriverWait(d(), Duration.ofSeconds(30)).withMessage(what)
                .ignoring(StaleElementReferenceException.class).until(condition);
    }

    public Object js(String script, Object... args) {
        return d().executeScript(script, args);
    }

    /** A screenshot from the top of the page, to target/page-screenshots/{@code name}. */
    public void shot(String name) {
        js("window.scrollTo(0, 0)");
        browser.screenshot(SHOTS.resolve(name));
    }

    /** A screenshot of the window as it is scrolled now. */
    public void shotHere(String name) {
        browser.screenshot(SHOTS.resolve(name));
    }

    /** Types the token into the form (emptied first: a refused token stays there to be corrected) and submits it. */
    public void giveToken(String token) {
        WebElement input = d().findElement(By.id("token-input"));
        input.clear();
        input.sendKeys(token, Keys.ENTER);
    }

    public void key(CharSequence... keys) {
        new Actions(d()).sendKeys(keys).perform();
    }

    /** check|subject → the text of the finding's message, as the overview shows it. */
    @SuppressWarnings("unchecked")
    public Map<String, String> shownFindings() {
        return (Map<String, String>) js("const m = {}; for (const li of document.querySelectorAll('#overview li.finding'))"
                + " m[li.dataset.check + '|' + li.dataset.subject] = li.querySelector('.message').textContent; return m;");
    }

    /** The keys of every selected element (a row a link pointed at): its data-key, or each of its data-keys. */
    @SuppressWarnings("unchecked")
    public List<String> selected() {
        return (List<String>) js("return [...document.querySelectorAll('.selected')]"
                + ".flatMap(e => e.dataset.keys ? JSON.parse(e.dataset.keys) : [e.dataset.key])");
    }

    /** Whether the first selected element is inside the window (not hidden under the sticky header). */
    public boolean selectedInView() {
        return (Boolean) js("const e = document.querySelector('.selected'); if (!e) return false;"
                + " const r = e.getBoundingClientRect(); const h = document.querySelector('header');"
                + " const top = getComputedStyle(h).position === 'sticky' ? h.getBoundingClientRect().bottom : 0;"
                + " return r.top >= top - 1 && r.top < window.innerHeight;");
    }

    public WebElement find(String css) {
        return d().findElement(By.cssSelector(css));
    }

    @Override
    public void close() {
        browser.close();
    }
}
