#!/usr/bin/env bash
# pgvigil and Debian's prometheus-postgres-exporter side by side on one PostgreSQL 15 cluster holding the
# reference data set; prints server CPU per poll interval, each monitor's own CPU, scrape latency,
# exposition size, RSS, connections and time to the first poll, as ratios (docs/performance.md).
# Usage: bench/sidebyside.sh [--statements 4900] [--tables 2500] [--indexes 10000] [--seconds 120]
#          [--rounds 2] [--interval 15] [--visit 60] [--polls 100] [--scrapes 1000] [--jvm 'OPTIONS']
#          [--pod-interval 1] [--pod-visit 4] [--fast] [--no-windows] [--alone]
# --fast: 1 s polls and scrapes, visits every 4 s, 3 rounds of 30 s windows (a quick run).
# --no-windows skips phase 1 (the server's CPU); --alone runs phase 2 without pairing the exporter's scrapes;
# --pod-interval/--pod-visit: phase 2's poll and visit cadence.
# Needs Debian's postgresql-15 (with pg_stat_statements) and prometheus-postgres-exporter: the latter is
# installed when missing, and its packaged service is stopped and disabled (the benchmark runs its own).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/prometheus-postgres-exporter ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y prometheus-postgres-exporter || { $sudo apt-get update && $sudo apt-get install -y prometheus-postgres-exporter; }
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus-postgres-exporter || true
  fi
fi
if [ ! -f target/quarkus-app/quarkus-run.jar ] || [ -n "$(find src/main pom.xml -newer target/quarkus-app/quarkus-run.jar -print -quit)" ]; then
  ./mvnw -q -B package -DskipTests
fi
exec bench/run.sh SideBySideBench "$@"
