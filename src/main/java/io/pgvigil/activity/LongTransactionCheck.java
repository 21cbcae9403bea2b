package io.pgvigil.activity;

import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.statements.SqlText;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code long_transaction}: age of the oldest open transaction (active or idle in transaction) of any
 * session but pgvigil's. Subject: {@code server}; the message names the session holding it.
 */
@Singleton
public class LongTransactionCheck extends ThresholdCheck {

    public static final String ID = "long_transaction";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.SECONDS, SubjectKind.SERVER,
            "age of the oldest open transaction",
            "A transaction has been open for long", LongTransactionCheck::new);

    private final PgvigilConfig.LongTransaction config;

    public LongTransactionCheck(PgvigilConfig config) {
        super(SPEC, config.checks().longTransaction(), seconds(config.checks().longTransaction().warning()),
                seconds(config.checks().longTransaction().critical()));
        this.config = config.checks().longTransaction();
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Activity> activity = snapshot.get(Activity.class);
        if (activity.isEmpty()) {
            return Optional.empty();
        }
        Optional<Backend> oldest = activity.get().oldestTransaction();
        double age = oldest.map(Backend::xactAgeSeconds).orElse(0.0);
        double warning = seconds(config.warning());
        double critical = seconds(config.critical());
        String message = oldest.map(b -> String.format(java.util.Locale.ROOT,
                "transaction open for %.0f s: pid %d, user %s, application '%s', database %s, state %s, query: %s",
                age, b.pid(), b.usename(), b.applicationName(), b.datname(), b.state(), SqlText.redact(b.query(), 200)))
                .orElse("no open transaction");
        return Optional.of(List.of(Evaluation.above("server", age, warning, critical, message)));
    }

}
