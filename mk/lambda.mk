# The AWS body's release binaries, and their measurements (prints numbers).
.PHONY: lambda-release bench-lambda

lambda-release:
	$(CARGO) build --release -p invalidator-lambda --bins

bench-lambda: lambda-release
	$(CARGO) build --release -q -p invalidator-tests --bin lambda-bench
	target/release/lambda-bench

# cfn-lint checks native-lambda/template.yaml; it is installed pinned into
# .venv (gitignored) from tools/requirements-lint.txt, and runs in `make test`.
.PHONY: cfn-lint
.venv/.lint-installed: tools/requirements-lint.txt
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-lint.txt
	@touch $@

cfn-lint: .venv/.lint-installed
	.venv/bin/cfn-lint native-lambda/template.yaml

test: cfn-lint

# The Lambda burst through the queue (prints numbers; part of `make bench`).
.PHONY: bench-lambda-burst
bench-lambda-burst: lambda-release node-deps
	$(CARGO) build --release -q -p invalidator-tests --bin lambda-burst-bench
	target/release/lambda-burst-bench
