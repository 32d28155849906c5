# The Worker's build tools, installed into .tools/ once and reused: worker-build
# and the wasm-bindgen CLI matching Cargo.lock (from crates.io), wasm-opt from
# npm's binaryen and esbuild from wrangler's own install. Nothing is downloaded
# from anywhere else: worker-build is told where each tool is.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
WORKER_BUILD_VERSION := 0.8.7
TOOLS := $(CURDIR)/.tools
# esbuild's native binary for this machine (linux-x64, linux-arm64, darwin-arm64...),
# resolved from the installed esbuild package; evaluated only when a build runs.
ESBUILD_NATIVE = $(shell node -p "require.resolve('@esbuild/' + process.platform + '-' + process.arch + '/bin/esbuild', {paths: [require.resolve('esbuild')]})")
EDGE_ENV = WASM_BINDGEN_BIN=$(TOOLS)/bin/wasm-bindgen \
	WASM_OPT_BIN=$(CURDIR)/node_modules/.bin/wasm-opt \
	ESBUILD_BIN=$(ESBUILD_NATIVE)

WASM_FEATURES := $(foreach f,mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue reference-types exception-handling,--enable-$(f))

.PHONY: tools edge-build edge-size bench-edge

# The tools run for about a second on one bundle, so they are built for build
# time, unoptimised: a newcomer's first `make test` waits for these two
# installs (both: 265 s at opt-level 1, 128 s at 0; wasm-bindgen takes 0.8 s
# instead of 0.2 s a bundle, with byte-identical output). Only the
# `wasm-bindgen` binary is built, without TLS for downloads it never makes.
TOOL_BUILD_ENV := CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false

$(TOOLS)/bin/wasm-bindgen-$(WASM_BINDGEN_VERSION):
	$(TOOL_BUILD_ENV) $(CARGO) install --root $(TOOLS) wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) \
	  --no-default-features --bin wasm-bindgen
	@touch $@

$(TOOLS)/bin/worker-build-$(WORKER_BUILD_VERSION):
	$(TOOL_BUILD_ENV) $(CARGO) install --root $(TOOLS) worker-build --version $(WORKER_BUILD_VERSION) --locked
	@touch $@

tools: toolchain node-deps $(TOOLS)/bin/wasm-bindgen-$(WASM_BINDGEN_VERSION) $(TOOLS)/bin/worker-build-$(WORKER_BUILD_VERSION)

EDGE_SOURCES := $(shell find core/src edge-worker/src -name '*.rs' -o -name '*.css') Cargo.toml core/Cargo.toml edge-worker/Cargo.toml Cargo.lock

# The bundle wrangler serves: edge-worker/build/index.js and its wasm, rebuilt
# only when a source changed.
edge-build: edge-worker/build/index.js

edge-worker/build/index.js: $(EDGE_SOURCES) | tools
	@mkdir -p target
	cd edge-worker && $(EDGE_ENV) $(TOOLS)/bin/worker-build --release 2>&1 | tee $(CURDIR)/target/worker-build.log
	@! grep -qi "download" target/worker-build.log || { echo "worker-build tried to download a tool: see target/worker-build.log"; exit 1; }
	@# worker-build keeps the names section; dropping it saves about a sixth of the bundle.
	node_modules/.bin/wasm-opt edge-worker/build/index_bg.wasm --strip-debug --strip-producers $(WASM_FEATURES) -o edge-worker/build/index_bg.wasm
	@touch $@

# The size that counts against the Workers limit: the gzipped bundle.
edge-size: edge-build
	@printf 'wasm: %s bytes, gzipped %s; index.js gzipped %s\n' \
	  $$(wc -c < edge-worker/build/index_bg.wasm) $$(gzip -9 -c edge-worker/build/index_bg.wasm | wc -c) $$(gzip -9 -c edge-worker/build/index.js | wc -c)

# Webhook latency and burst coalescing under wrangler dev (prints numbers).
bench-edge: edge-build
	$(CARGO) run --release -q -p invalidator-tests --bin edge-bench
