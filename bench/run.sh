#!/usr/bin/env bash
# Runs one benchmark of src/test/java/io/pgvigil/bench against a real embedded PostgreSQL.
# Usage: bench/run.sh PollBench|StatementsBench|RelationsBench|LockWaitBench|PgBouncerBench|PlansBench|PageHistoryBench|ContainerMemoryBench|VisitQueryProbe|SideBySideBench [args]
# (SideBySideBench: use bench/sidebyside.sh, which builds the jar and installs the exporter first)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$1
shift
./mvnw -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
java -Dpgtest.binaries=target/pg-binaries -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" \
  "io.pgvigil.bench.$bench" "$@"
