# Headless Chromium for the status page's browser test and the README's
# screenshots: Debian's `chromium` package, installed once when
# /usr/bin/chromium is missing. The version is pinned; Debian's security
# archive keeps only the newest build, so when the pin is gone the newest
# build is installed instead, and its version printed. Installed here on
# 2026-12-04: 156.0.8078.114-1~deb12u1, in 26 s with `apt-get update`
# (the 148 build that stale package lists named was already gone).
CHROMIUM_VERSION := 156.0.8078.114-1~deb12u1
CHROMIUM ?= /usr/bin/chromium

.PHONY: browser screenshots

browser: $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "no apt-get: install Chromium and set CHROMIUM=path"; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium=$(CHROMIUM_VERSION) \
	  || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
	@$(CHROMIUM) --version

# docs/status-desktop.png and docs/status-phone.png, from a publish to
# Completed under wrangler dev, taken by the browser test itself.
screenshots: browser node-deps edge-build
	SCREENSHOTS=$(CURDIR)/docs CHROMIUM=$(CHROMIUM) $(CARGO) test -p invalidator-tests --test status_page -- --nocapture
