# The AWS body's release binaries, and their measurements (prints numbers).
.PHONY: lambda-release bench-lambda

lambda-release:
	$(CARGO) build --release -p invalidator-lambda --bins

bench-lambda: lambda-release
	$(CARGO) build --release -q -p invalidator-tests --bin lambda-bench
	target/release/lambda-bench
