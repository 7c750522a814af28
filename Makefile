# collectd-anomaly: build, test and demo. Run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
export CGO_ENABLED  := 1
export CGO_CPPFLAGS := -I/usr/include/collectd/core/daemon -I/usr/include/collectd/core -I/usr/include/collectd
# Tools installed with `go install` land here; a fresh machine has no GOPATH/bin on PATH.
export GOBIN        := $(CURDIR)/build/bin

# The upstream version; `make deb` adds the commit to it unless HEAD is tagged.
VERSION     := 0.1.0
PLUGIN      := build/anomaly.so
COMMAND     := build/anomaly
PLUGIN_DIR  ?= /usr/lib/collectd
CONF_DIR    ?= /etc/collectd/collectd.conf.d
# The command and the Grafana files are not collectd's: they go where locally
# installed software goes (the Debian package puts them under /usr).
PREFIX      ?= /usr/local
BIN_DIR     ?= $(PREFIX)/bin
SHARE_DIR   ?= $(PREFIX)/share/collectd-anomaly
GO_SOURCES  := $(shell find . -name '*.go' -not -path './build/*') $(wildcard bridge/*.c bridge/*.h bridge/fake/*.c bridge/fake/*.h) go.mod go.sum

.PHONY: help build anomaly deb test demo install deps unit e2e vet fmt-check bench clean influxd

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install the Debian packages the build and the tests need (as root)
	@./scripts/deps.sh

build: deps $(PLUGIN) ## build build/anomaly.so, the collectd plugin

$(PLUGIN): $(GO_SOURCES)
	@mkdir -p build
	$(GO) build -buildmode=c-shared -trimpath -o $@ ./plugin
	@rm -f build/anomaly.h

demo: build ## run collectd in the foreground with the plugin: simulated traffic, an incident, its alert and recovery
	@./scripts/demo.sh $(PLUGIN)

install: build anomaly ## install the plugin, the rule packs, the command and the Grafana files (make deb: a package instead)
	install -d $(PLUGIN_DIR)
	install -m 0644 $(PLUGIN) $(PLUGIN_DIR)/anomaly.so
	install -d $(CONF_DIR)
	install -m 0644 collectd.conf.d/anomaly.conf $(CONF_DIR)/anomaly.conf
	install -m 0644 collectd.conf.d/host.conf $(CONF_DIR)/host.conf
	install -d $(BIN_DIR)
	install -m 0755 $(COMMAND) $(BIN_DIR)/anomaly
	cd grafana && find . -type f -exec install -D -m 0644 {} $(SHARE_DIR)/grafana/{} \;
	install -d -m 0755 /var/lib/collectd-anomaly   # the host pack's StateFile and SilenceFile

deb: build anomaly ## build build/collectd-anomaly_<version>_<arch>.deb with dpkg-deb (scripts/deb.sh)
	@VERSION=$(VERSION) ./scripts/deb.sh $(PLUGIN) $(COMMAND)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

vet: deps
	$(GO) vet ./...

# `make unit` tests every package but the end-to-end tests, found by `go
# list`: a new package is tested without being named here. Those in NORACE
# run weeks of simulated traffic on one goroutine: the race detector would
# find nothing there and makes them ten times slower.
MODULE     := github.com/collectd-anomaly/collectd-anomaly
NORACE     := $(MODULE)/replay $(MODULE)/cmd/anomaly
UNIT_PKGS   = $(filter-out $(MODULE)/e2e $(MODULE)/build/%,$(shell $(GO) list ./...))

unit: deps ## unit tests, with the race detector where anything runs concurrently
	$(GO) test -race -count=1 $(filter-out $(NORACE),$(UNIT_PKGS))
	$(GO) test -count=1 $(NORACE)

influxd: ## install influxd 1.8.10 into build/bin for the end-to-end tests (go install, cached)
	@./scripts/influxd.sh

e2e: build influxd ## end-to-end tests against a real collectd and a real InfluxDB
	ANOMALY_SO=$(CURDIR)/$(PLUGIN) $(GO) test -count=1 -timeout 15m ./e2e/...

test: fmt-check vet unit e2e ## everything: gofmt, go vet, unit tests (race), end-to-end tests

bench: deps ## benchmarks of the hot path (allocations and ns per value list)
	$(GO) test -run '^$$' -bench . -benchmem ./detect/... ./bridge/... ./simulate/... ./influx/...

.PHONY: burst fuzz quality
burst: build ## the alert-burst test with exec loaded, 10 rounds of 5,000 hosts going silent (minutes)
	ANOMALY_SO=$(CURDIR)/$(PLUGIN) ANOMALY_BURST_ROUNDS=10 ANOMALY_BURST_HOSTS=5000 $(GO) test -v -count=1 -run '^TestAlertBurstWithExec$$' -timeout 30m ./e2e/

# Every fuzz target of the module, found in the test files as pkg:FuzzName:
# a new target is fuzzed without being named here. go test -fuzz takes one
# package and one target per run, so they run in turn, FUZZTIME each; a
# failure does not stop the others, and make fails at the end. New
# inputs are minimized for at most 10 s: the seeds include the 10 KB rule
# packs, whose minimization otherwise takes most of the time.
FUZZ_TARGETS = $(shell grep -rHo --include='*_test.go' --exclude-dir=build --exclude-dir=e2e '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's|^\./(.*)/[^/]*:func (Fuzz.*)|\1:\2|' | sort)

fuzz: deps ## run every fuzz target in turn for FUZZTIME each (default 2m; make fuzz FUZZ_TARGETS=conf:FuzzReadSource for one)
	@failed=; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name (./$$pkg)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(or $(FUZZTIME),2m) -fuzzminimizetime 10s ./$$pkg/ || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzzing failed:$$failed (inputs under testdata/fuzz)"; exit 1; fi

quality: deps ## the Anomaly detector's quality table on the labelled corpus (seconds)
	ANOMALY_QUALITY=1 $(GO) test -count=1 -run '^TestWriteCorpusQuality$$' -v ./replay/

.PHONY: loadbench loadbench-detail loadbench-deps
loadbench: build influxd loadbench-deps ## the whole plugin (both packs, Anomaly on every series, InfluxDB) at 10k, 50k, 100k series beside bare collectd, the threshold plugin and Prometheus (about 40 minutes)
	ANOMALY_SO=$(CURDIR)/$(PLUGIN) ANOMALY_LOAD_HOSTMETRICS=1 ANOMALY_LOAD_SERIES=$${ANOMALY_LOAD_SERIES:-10000,50000,100000} \
	  ANOMALY_LOAD_VALUES=$${ANOMALY_LOAD_VALUES:-1200000} ANOMALY_LOAD_REPS=$${ANOMALY_LOAD_REPS:-3} \
	  ANOMALY_LOAD_CONFIGS=$${ANOMALY_LOAD_CONFIGS:-bare,threshold,whole,prometheus} \
	  $(GO) test -v -count=1 -run '^$$' -bench '^BenchmarkCollectdLoad$$' -benchtime 1x -timeout 120m ./e2e/

loadbench-detail: build ## CPU per value list of collectd receiving the shop's series from 1000 hosts: bare, threshold, the plugin's parts, gobare (minutes)
	ANOMALY_SO=$(CURDIR)/$(PLUGIN) ANOMALY_LOAD_CONFIGS=$${ANOMALY_LOAD_CONFIGS:-bare,threshold,anomaly,anomaly-noinflux,anomaly-norules,gobare} \
	  $(GO) test -v -count=1 -run '^$$' -bench '^BenchmarkCollectdLoad$$' -benchtime 1x -timeout 60m ./e2e/

# Prometheus and the libraries of collectd's write_prometheus plugin, for the
# loadbench's side by side (Debian's packages; as root).
loadbench-deps:
	@./scripts/deps.sh loadbench

.PHONY: idlebench
idlebench: build ## CPU of a lightly loaded collectd (20 and 2,000 series) with and without the plugin (4 minutes)
	ANOMALY_SO=$(CURDIR)/$(PLUGIN) ANOMALY_IDLE=1 $(GO) test -v -count=1 -run '^TestIdleCost$$' -timeout 20m ./e2e/

clean:
	rm -rf build

anomaly: ## build build/anomaly, the command: check a configuration, replay rules, evaluate them (build/anomaly --help)
	$(GO) build -trimpath -o $(COMMAND) ./cmd/anomaly
