# mesh-health-exporter: everything a developer or CI runs goes through these targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install serve check generate lint test unit integration e2e promtool testbed-build testbed-up testbed-down demo demo-break demo-fix demo-down demo-verify fresh-test fuzz bench soak mutation audit clean

help:
	@echo "make serve     run the exporter against the current kubeconfig (http://localhost:9745)"
	@echo "make check     one-shot report of findings against the current kubeconfig"
	@echo "make test      lint, type-check and run every test (installs what it needs)"
	@echo "make generate  regenerate alert_rules/, grafana_dashboards/, docs/ and the chart data (catalogue + scenarios)"
	@echo "make demo      everything on loopback: kube-apiserver, 2 istiod, sidecars, Elasticsearch, Jaeger, exporter, Prometheus"
	@echo "make demo-break SCENARIO=DP01 / demo-fix SCENARIO=DP01   (DP01 CP03 DP02 CP05 TR03 TR01); make demo-down"
	@echo "make testbed-up / testbed-down   the Kubernetes + istiod part only"
	@echo "make e2e       end-to-end tests against the testbed"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/mesh-health-exporter serve $(ARGS)

check: $(STAMP)
	$(BIN)/mesh-health-exporter check $(ARGS)

# The catalogue gives rules, dashboards, runbooks and chart data; the scenarios give the series of the rules'
# promtool tests (exporter/generate/data/scenario_series.json), which generate turns into tests.
generate: $(STAMP) promtool
	$(BIN)/python -m tests.scenarios.series
	$(BIN)/mesh-health-exporter generate --log-level warning

# promtool, Prometheus and Alertmanager come from Debian's prometheus and prometheus-alertmanager packages.
promtool:
	@command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    prometheus prometheus-alertmanager >/dev/null; }
	@promtool --version | head -1

lint: $(STAMP)
	$(BIN)/ruff check exporter tests bench testbed
	$(BIN)/ruff format --check exporter tests bench testbed
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP) promtool
	$(BIN)/pytest tests/integration

# Real components for end-to-end tests, built from the Go module proxy (cached in .cache/testbed).
testbed-build:
	bash testbed/build.sh kube istiod jaeger elasticsearch

testbed-up: $(STAMP) testbed-build
	$(BIN)/python -m testbed up

testbed-down: $(STAMP)
	$(BIN)/python -m testbed down

# Everything on this machine: testbed (both parts), exporter and Prometheus; then break and repair things.
demo: $(STAMP) promtool testbed-build
	$(BIN)/python -m testbed demo

demo-break: $(STAMP)
	$(BIN)/python -m testbed break $(SCENARIO)

demo-fix: $(STAMP)
	$(BIN)/python -m testbed fix $(SCENARIO)

demo-down: testbed-down

# The running demo reaches a healthy baseline, then one DP01 break/fix cycle.
demo-verify: $(STAMP)
	$(BIN)/python -m testbed verify-demo

# Rehearse a fresh machine: clone HEAD and run the README's test command, then the demo, with empty caches.
fresh-test:
	bash testbed/fresh-test.sh $(DIR)

e2e: $(STAMP) testbed-build
	$(BIN)/pytest tests/e2e

test: $(STAMP) promtool lint testbed-build
	$(BIN)/pytest

# Every parser of upstream answers with 10,000 hypothesis examples each (make test runs 200 each).
# Mutation testing of the checks and the upstream parsers against tests/unit (about 10 min on 2 cores; not in
# make test). Fails below 90 % killed or on a survivor not listed in tests/mutation-equivalents.txt.
mutation: $(STAMP)
	$(BIN)/pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	$(BIN)/mutmut run --max-children $$(nproc)
	$(BIN)/python -m tests.mutation_report

# The installed packages against PyPI's vulnerability data (pip-audit's sources are not reachable here; see the
# script). Not in make test: it needs PyPI's JSON API and its answer changes with every advisory.
audit: $(STAMP)
	$(BIN)/python -m tests.dependency_audit

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/fuzz

# Every benchmark (each prints its figure, a same-run baseline and the ratio) into bench/REPORT.md, with the last
# soak (bench/SOAK.md). bench_mesh_config compares with the testbed's istioctl.
# BENCH="bench_loop_stall bench_scrape_load" reruns only those and keeps the other sections.
bench: $(STAMP)
	@if [ -n "$(BENCH)" ]; then $(BIN)/python -m bench.report --only $(BENCH); \
	else $(MAKE) --no-print-directory testbed-build && $(BIN)/python -m bench.report; fi

# One exporter process for SOAK_MINUTES (default 30) against failing and recovering loopback upstreams: RSS, FDs,
# threads and scrape latency per minute, written to bench/SOAK.md.
soak: $(STAMP)
	$(BIN)/python -m bench.soak
	$(BIN)/python -m bench.report --soak-only

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
