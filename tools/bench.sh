#!/usr/bin/env bash
# `make bench`: runs every benchmark RUNS times (default 3) and writes
# BENCHMARKS.md — the commands, the machine, medians and ranges. Benchmarks
# print numbers; nothing here asserts on time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
out=target/bench
mkdir -p "$out"
cargo build --release -q -p invalidator-tests --bin edge-bench --bin lambda-bench --bin lambda-burst-bench --bin model-bench --bin model-bench-exact --bin sweep-bench --bin fresh-bench
cargo build --release -q -p invalidator-lambda --bins
for i in $(seq "$RUNS"); do
  echo "== run $i of $RUNS" >&2
  cargo bench -q -p invalidator-core --bench core -- --warm-up-time 1 --measurement-time 4 2>/dev/null > "$out/core-$i.txt"
  target/release/edge-bench 2>/dev/null | grep -E '^(webhook|floor|ratio|burst|cold|invalidator:|  log:)' > "$out/edge-$i.txt"
  target/release/lambda-bench > "$out/lambda-$i.txt"
  target/release/lambda-burst-bench 2>/dev/null | grep -E '^lambda burst' > "$out/lambda-burst-$i.txt"
done
make -s bundle-size > "$out/bundle.txt"
target/release/model-bench > "$out/model.txt"
# The stand-in logs each request it answers on stdout; keep the bench's own lines.
target/release/sweep-bench | grep -v '^\[' > "$out/sweep.txt"
target/release/fresh-bench 2>/dev/null | grep -E '^fresh' > "$out/fresh.txt"
target/release/model-bench-exact > "$out/model-exact.txt"
python3 tools/bench_report.py "$out" "$RUNS" > BENCHMARKS.md
cat BENCHMARKS.md
