package io.pgvigil.statements;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.pgvigil.statements.SqlText;
import io.pgvigil.core.Window;

/**
 * One statement's activity in the interval, summed over the pg_stat_statements entries that share
 * its queryid (the same statement run by several roles, in several databases, or nested).
 */
record QueryTotals(long queryid, long calls, double execSeconds, long rows, long tempBlksWritten,
        Set<String> datnames, String text) {

    double meanSeconds() {
        return calls == 0 ? 0 : execSeconds / calls;
    }

    /** "shop" or "shop, crm". */
    String databases() {
        return String.join(", ", datnames);
    }

    /** The first 200 characters of the redacted text, for messages. */
    String shortText() {
        return text == null ? "(query text not available)" : SqlText.redact(text, 200);
    }

    static Map<Long, QueryTotals> byQueryid(Window window) {
        Map<Long, QueryTotals> totals = new LinkedHashMap<>();
        for (Window.StatementDelta d : window.statements()) {
            long id = d.statement().queryid();
            QueryTotals t = totals.get(id);
            Set<String> dbs = t == null ? new TreeSet<>() : t.datnames();
            if (d.statement().datname() != null) {
                dbs.add(d.statement().datname());
            }
            totals.put(id, t == null
                    ? new QueryTotals(id, d.calls(), d.execSeconds(), d.rows(), d.tempBlksWritten(), dbs, d.statement().text())
                    : new QueryTotals(id, t.calls() + d.calls(), t.execSeconds() + d.execSeconds(), t.rows() + d.rows(),
                            t.tempBlksWritten() + d.tempBlksWritten(), dbs, t.text()));
        }
        return totals;
    }
}
