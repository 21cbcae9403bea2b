#!/usr/bin/env bash
# What a poll costs (client and server side) against a real embedded PostgreSQL.
# Usage: bench/poll.sh [major=18] [polls=2000] [idle-clients=150] [databases=20]
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
java -Dpgtest.binaries=target/pg-binaries -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" \
  io.pgvigil.bench.PollBench "$@"
