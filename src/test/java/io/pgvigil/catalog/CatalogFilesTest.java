package io.pgvigil.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Catalog;
import io.pgvigil.core.Check;
import io.pgvigil.core.CheckSpec;

/**
 * The files derived from the check catalog are the ones committed. Run with
 * {@code -Dpgtest.regenerate=true} to rewrite them ({@link CatalogFiles#REGENERATE}); without it a
 * stale file fails the build and names the command.
 */
class CatalogFilesTest {

    private static final boolean REGENERATE = Boolean.getBoolean("pgtest.regenerate");

    @Test
    void generatedFilesAreUpToDate() throws IOException {
        List<String> stale = new ArrayList<>();
        for (Map.Entry<Path, String> file : CatalogFiles.wholeFiles().entrySet()) {
            String committed = Files.exists(file.getKey()) ? Files.readString(file.getKey()) : "";
            if (!committed.equals(file.getValue())) {
                stale.add(file.getKey().toString());
                if (REGENERATE) {
                    Files.writeString(file.getKey(), file.getValue());
                }
            }
        }
        for (Map.Entry<Path, Map<String, String>> file : CatalogFiles.sections().entrySet()) {
            String committed = Files.readString(file.getKey());
            String updated = committed;
            for (Map.Entry<String, String> section : file.getValue().entrySet()) {
                updated = replaceSection(file.getKey(), updated, section.getKey(), section.getValue());
            }
            if (!updated.equals(committed)) {
                stale.add(file.getKey() + " (generated section)");
                if (REGENERATE) {
                    Files.writeString(file.getKey(), updated);
                }
            }
        }
        if (REGENERATE) {
            System.out.println("regenerated: " + stale);
            return;
        }
        assertThat(stale).as("files generated from the check catalog are out of date; regenerate them with: %s",
                CatalogFiles.REGENERATE).isEmpty();
    }

    /** The text between {@code <!-- BEGIN GENERATED name ... -->} and {@code <!-- END GENERATED name -->}. */
    static String replaceSection(Path file, String text, String name, String content) {
        String begin = "<!-- BEGIN GENERATED " + name + " ";
        String end = "<!-- END GENERATED " + name + " -->";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        assertThat(b).as("%s has a line starting with '%s'", file, begin).isGreaterThanOrEqualTo(0);
        assertThat(e).as("%s has a line '%s' after its begin marker", file, end).isGreaterThan(b);
        int afterBegin = text.indexOf('\n', b) + 1;
        return text.substring(0, afterBegin) + content + text.substring(e);
    }

    @Test
    void everyCheckOfTheCatalogIsBuiltWithItsOwnSpecAndHasARunbook() throws IOException {
        Set<String> ids = new HashSet<>();
        for (Check check : CatalogFiles.defaults()) {
            CheckSpec spec = check.spec();
            assertThat(ids.add(spec.id())).as("unique check id %s", spec.id()).isTrue();
            assertThat(Catalog.check(spec.id())).contains(spec);
            Path runbook = Path.of("docs/runbooks/" + spec.id() + ".md");
            assertThat(runbook).as("runbook of %s", spec.id()).exists();
            assertThat(Files.readString(runbook)).as(runbook.toString()).contains("**What it means.**",
                    "**Confirm it.**", "**Fix it.**");
            // One unit per check: every threshold is in it, and the severities it reports have one (or none).
            assertThat(spec.severities()).containsAll(check.thresholds().keySet());
        }
        assertThat(ids).hasSize(Catalog.CHECKS.size());
    }
}
