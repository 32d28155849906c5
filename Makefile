# invalidator: every command a newcomer needs. `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

include $(wildcard mk/*.mk)

.PHONY: help test fmt-check clippy unit wasm-core node-deps toolchain demo demo-lambda bench bench-core bench-model

help:
	@echo "make test   - formatting, lints, every test, and the wasm32 build of the core"
	@echo "make demo   - the whole job on local stand-ins: a signed publish, through the Worker, to Completed"
	@echo "make demo-lambda - the same through the Lambda functions and the Step Functions state machine"
	@echo "make bench  - benchmarks that print numbers"

# Installs the pinned toolchain of rust-toolchain.toml with its wasm32 target (a no-op once there).
toolchain:
	@rustup toolchain install >/dev/null 2>&1 || rustup toolchain install

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

node-deps: node_modules/.package-lock.json

fmt-check: toolchain
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

TEST_LOG := target/test-output.log

# Every test binary, TEST_JOBS (default 2) at a time: see tools/run_tests.py.
unit: node-deps edge-build browser
	@mkdir -p target
	set -o pipefail; CARGO=$(CARGO) python3 tools/run_tests.py 2>&1 | tee $(TEST_LOG)

wasm-core: toolchain
	$(CARGO) build -p invalidator-core --target wasm32-unknown-unknown --release

# The last line sums every test binary's result, so a reader (or CI) sees one total.
test: fmt-check clippy unit wasm-core
	@awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($$(i+1) ~ /^passed/) p += $$i; if ($$(i+1) ~ /^failed/) f += $$i } } \
	     END { printf "tests: %d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' $(TEST_LOG)

demo: node-deps edge-build
	$(CARGO) run -q -p invalidator-tests --bin demo

demo-lambda: node-deps
	$(CARGO) run -q -p invalidator-tests --bin demo -- --lambda

# Benchmarks print numbers; they never assert on time.
bench-core:
	$(CARGO) bench -p invalidator-core --bench core

bench-model:
	$(CARGO) run --release -q -p invalidator-tests --bin model-bench
	$(CARGO) run --release -q -p invalidator-tests --bin model-bench-exact

# All of them, several runs each, into BENCHMARKS.md.
bench: node-deps edge-build
	tools/bench.sh
