package io.pgvigil.testing;


import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Debian's headless Chromium driven by its chromedriver (packages {@code chromium} and
 * {@code chromium-driver}; {@code -Dpgtest.chromium=} and {@code -Dpgtest.chromedriver=} point
 * elsewhere). Without them a test is skipped, saying so on stderr, unless {@code CI} is set: then it
 * fails ({@code .ci/run} installs both). The browser keeps Chrome's performance log (every request
 * it sends, from the DevTools network events) and its console log, for the tests to assert on.
 */
public final class Browser implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ChromeDriver driver;
    private final Path dataDir;
    private final List<String> requests = new ArrayList<>();
    private final List<String> console = new ArrayList<>();

    private Browser(ChromeDriver driver, Path dataDir) {
        this.driver = driver;
        this.dataDir = dataDir;
    }

    /** A fresh headless Chromium with an empty profile, or the test is skipped (fails in CI). */
    public static Browser start() {
        Path chromium = Path.of(System.getProperty("pgtest.chromium", "/usr/bin/chromium"));
        Path chromedriver = Path.of(System.getProperty("pgtest.chromedriver", "/usr/bin/chromedriver"));
        boolean present = Files.isExecutable(chromium) && Files.isExecutable(chromedriver);
        Installed.require(present, "Chromium or its driver is missing (" + chromium + ", " + chromedriver
                + "): apt-get install -y chromium chromium-driver");
        try {
            Path dataDir = Files.createTempDirectory("pgvigil-chromium");
            ChromeOptions options = new ChromeOptions();
            options.setBinary(chromium.toFile());
            // Without the background-networking flags Chromium reaches for Google's services, which this
            // machine's closed network refuses (and which would count as requests leaving the origin).
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000", "--user-data-dir=" + dataDir);
            LoggingPreferences logs = new LoggingPreferences();
            logs.enable(LogType.PERFORMANCE, Level.ALL);
            logs.enable(LogType.BROWSER, Level.ALL);
            options.setCapability("goog:loggingPrefs", logs);
            options.setExperimentalOption("perfLoggingPrefs", Map.of("enableNetwork", true, "enablePage", false));
            ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile())
                    .usingAnyFreePort().build();
            ChromeDriver driver = new ChromeDriver(service, options);
            driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
            // The first tab's own start page (chrome://new-tab-page and its resources) is not the page's doing.
            driver.get("about:blank");
            Browser browser = new Browser(driver, dataDir);
            browser.drain();
            browser.requests.clear();
            browser.console.clear();
            return browser;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public ChromeDriver driver() {
        return driver;
    }

    public void size(int width, int height) {
        driver.manage().window().setSize(new Dimension(width, height));
    }

    /** Every URL the browser requested so far (Network.requestWillBeSent), in order. */
    public synchronized List<String> requests() {
        drain();
        return List.copyOf(requests);
    }

    /** Console messages so far, as "LEVEL message". */
    public synchronized List<String> console() {
        drain();
        return List.copyOf(console);
    }

    /** Console messages from now on only. */
    public synchronized void forgetConsole() {
        drain();
        console.clear();
    }

    private void drain() {
        for (LogEntry e : driver.manage().logs().get(LogType.PERFORMANCE)) {
            try {
                JsonNode message = JSON.readTree(e.getMessage()).path("message");
                if (message.path("method").asText().equals("Network.requestWillBeSent")) {
                    requests.add(message.path("params").path("request").path("url").asText());
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            console.add(e.getLevel() + " " + e.getMessage());
        }
    }

    /** A PNG of the window, written to {@code file}. */
    public Path screenshot(Path file) {
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        driver.quit();
        try (var files = Files.walk(dataDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary profile is harmless
        }
    }
}
