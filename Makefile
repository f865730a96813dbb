# strata: the two commands are `make demo` and `make test` (Debian 12, as root).
SHELL := /bin/bash
# Each installs the system packages it needs with apt-get and says what it is doing.

SWIFT       ?= swift
BUILD_FLAGS ?= -c debug
BIN          = $(shell $(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/strata
STAMP        = .build/.deps-installed

# Build: libsolv, libarchive, librpm and pkg-config for the C modules; gpgv verifies signed indexes.
BUILD_DEPS = libsolv-dev libsolvext-dev libarchive-dev librpm-dev pkg-config gpgv xz-utils zstd ca-certificates
# Tests: the reference tools fixtures are made and results are cross-checked with (setcap: file capabilities).
TEST_DEPS  = gpg dpkg-dev apt apt-utils mmdebstrap rpm createrepo-c libarchive-tools dnf curl busybox-static libcap2-bin man-db umoci skopeo python3-venv

# Tests, from PyPI into a virtual environment outside the clone (kept between runs): the SBOM validators.
VENV      ?= /var/tmp/strata-test-venv
PYPI_DEPS  = spdx-tools cyclonedx-python-lib jsonschema

# Benchmarks: the peers strata is measured against, and what makes their payloads
# (bench/proxy.sh installs its own wrk, nginx-light and apt-cacher-ng).
BENCH_DEPS = mmdebstrap dnf alien createrepo-c rpm jq

# make install: where things go. The binary finds its templates at $(PREFIX)/share/strata/templates.
PREFIX  ?= /usr/local
DESTDIR ?=
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANUAL   = .build/plugins/GenerateManual/outputs/strata

.PHONY: all build deps test-deps bench-deps test demo bench fmt lint clean install

all: build

deps:
	@missing=""; for p in $(BUILD_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "==> installing build dependencies:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "==> build dependencies present"; fi

test-deps: deps
	@missing=""; for p in $(TEST_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "==> installing test dependencies:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "==> test dependencies present"; fi
	@if [ ! -x $(VENV)/bin/pyspdxtools ] || ! $(VENV)/bin/python -c 'import cyclonedx.validation.json, jsonschema' 2>/dev/null; then \
	  echo "==> creating $(VENV) with the SBOM validators from PyPI ($(PYPI_DEPS))"; \
	  /usr/bin/python3 -m venv $(VENV) && $(VENV)/bin/pip install -q $(PYPI_DEPS); \
	else echo "==> SBOM validators present in $(VENV)"; fi

build: deps
	@echo "==> building strata ($(BUILD_FLAGS))"
	$(SWIFT) build $(BUILD_FLAGS)

test: test-deps
	@echo "==> building and running the tests"
	$(SWIFT) build --build-tests
	STRATA_TEST_VENV=$(VENV) $(SWIFT) test --skip-build 2>&1 | tee .build/test.log; test $${PIPESTATUS[0]} -eq 0
	@echo "==> the proxy soak on its own (2,000 idle and 200 slowloris connections beside a client)"
	STRATA_SOAK=1 $(SWIFT) test --skip-build --filter ProxySoakTests 2>&1 | tee .build/test-soak.log; test $${PIPESTATUS[0]} -eq 0
	@echo "==> the optimized build, and the command-line tests of lock and build through it (crashes only optimized code shows)"
	$(SWIFT) build -c release --product strata
	STRATA_TEST_EXECUTABLE=$(CURDIR)/.build/release/strata $(SWIFT) test --skip-build \
	  --filter 'LockCheckTests|ErrorWordsTests|FirstHourBuildTests/clearedProgressLine' 2>&1 | tee .build/test-release.log; \
	  test $${PIPESTATUS[0]} -eq 0
	@echo "==> make install into a temporary DESTDIR: every file it lists is there, every man page renders, the binary runs"
	contrib/install-check.sh

# The release binary, its man pages (generated from the argument parser by swift-argument-parser's
# generate-manual, dated by SOURCE_DATE_EPOCH or the last commit; a blank line of a discussion
# becomes .Pp, as mdoc wants), bash/zsh/fish completions, the
# shipped template tree, the docs and the proxy's systemd unit (its paths rewritten for PREFIX).
install: deps
	@echo "==> building strata (release) and its man pages"
	$(SWIFT) build -c release --product strata
	$(SWIFT) package plugin generate-manual --multi-page --authors "the strata developers" >/dev/null
	@echo "==> installing under $(DESTDIR)$(PREFIX) (the unit in $(DESTDIR)$(UNITDIR))"
	install -D -m 755 .build/release/strata $(DESTDIR)$(PREFIX)/bin/strata
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/strata $(DESTDIR)$(PREFIX)/share/strata \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d $(DESTDIR)$(UNITDIR)
	day=$$(date -u -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)} '+%B %-d, %Y'); \
	for page in $(MANUAL)/*.1; do \
	  sed -e "s/^\.Dd .*/.Dd $$day/" -e "s/^$$/.Pp/" "$$page" > $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename "$$page"); \
	done
	chmod 644 $(DESTDIR)$(PREFIX)/share/man/man1/strata*.1
	.build/release/strata --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/strata
	.build/release/strata --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_strata
	.build/release/strata --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/strata.fish
	rm -rf $(DESTDIR)$(PREFIX)/share/strata/templates
	cp -R --no-preserve=ownership templates $(DESTDIR)$(PREFIX)/share/strata/templates
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/strata/
	sed -e 's|/usr/local/bin/strata|$(PREFIX)/bin/strata|' -e 's|/usr/share/doc/strata|$(PREFIX)/share/doc/strata|' \
	  contrib/strata-proxy.service > $(DESTDIR)$(UNITDIR)/strata-proxy.service
	@echo "==> installed:"; cd $(DESTDIR)/ && find .$(PREFIX) .$(UNITDIR) -type f -not -path '*/share/strata/templates/*' | sort -u | sed 's|^\.|  |'

demo: build
	@echo "==> building debian/12 minbase from the host's mirror into out/ (lock, fetch, import, compose, configure, export)"
	mkdir -p out
	$(BIN) build debian/12 --set minbase --lock out/debian-12-minbase-amd64.lock.json -o out/debian-12-minbase-amd64.tar.zst
	@echo "==> unpack it with: mkdir rootfs && tar --zstd -xpf out/debian-12-minbase-amd64.tar.zst -C rootfs"

bench-deps: deps
	@missing=""; for p in $(BENCH_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "==> installing benchmark dependencies:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "==> benchmark dependencies present"; fi

# Benchmarks run a release build against the peers on loopback (docs/benchmarks.md).
bench: bench-deps
	@echo "==> building strata (release) for the benchmarks"
	$(SWIFT) build -c release --product strata
	bench/lock.sh
	bench/proxy.sh
	bench/rpm.sh

fmt:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

clean:
	rm -rf .build out
