#!/usr/bin/env bash
# `make bench`: runs every benchmark RUNS times (default 3) and writes
# BENCHMARKS.md — the commands, the machine, medians and ranges. Benchmarks
# print numbers; nothing here asserts on time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
out=target/bench
mkdir -p "$out"
cargo build --release -q -p invalidator-tests --bin edge-bench --bin lambda-bench --bin model-bench --bin model-bench-exact
cargo build --release -q -p invalidator-lambda --bins
for i in $(seq "$RUNS"); do
  echo "== run $i of $RUNS" >&2
  cargo bench -q -p invalidator-core --bench core -- --warm-up-time 1 --measurement-time 4 2>/dev/null > "$out/core-$i.txt"
  target/release/edge-bench 2>/dev/null | grep -E '^(webhook|burst)' > "$out/edge-$i.txt"
  target/release/lambda-bench > "$out/lambda-$i.txt"
done
target/release/model-bench > "$out/model.txt"
target/release/model-bench-exact > "$out/model-exact.txt"
python3 tools/bench_report.py "$out" "$RUNS" > BENCHMARKS.md
cat BENCHMARKS.md
