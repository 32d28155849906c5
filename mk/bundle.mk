# The Worker bundle's size by crate, for BENCHMARKS.md: `make bundle-size`.
# twiggy (crates.io, pinned) reads a copy of the bundle optimised as the
# shipped one but with its function names kept. TWIGGY=path uses another.
TWIGGY_VERSION := 0.8.0
TWIGGY ?= $(TOOLS)/bin/twiggy

.PHONY: bundle-size

$(TOOLS)/bin/twiggy-$(TWIGGY_VERSION):
	$(CARGO) install --root $(TOOLS) twiggy --version $(TWIGGY_VERSION) --locked
	@touch $@

bundle-size: edge-build $(if $(filter $(TOOLS)/bin/twiggy,$(TWIGGY)),$(TOOLS)/bin/twiggy-$(TWIGGY_VERSION))
	@TWIGGY=$(TWIGGY) WASM_BINDGEN=$(TOOLS)/bin/wasm-bindgen WASM_FEATURES="$(WASM_FEATURES)" tools/bundle_size.sh
