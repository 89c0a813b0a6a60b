# collectord: build, run and test on Debian 12 (as root, or with sudo).
#
#   make run     install missing system packages, build release, run with config/collector.yaml
#   make test    install missing system packages, set up .venv, build with tests, swift test, the fuzz
#                targets' smoke run, and the release build `make run` uses (the optimizer has crashed
#                on code the debug build compiled)
#   make bench   release build + Benchmarks/load.sh (h2load against a local collectord)
#   make bench-filelog  release build + Benchmarks/filelog.sh (tail 1.1 GiB of JSON lines; EXPORTER=nop|loki)
#   make bench-sampling release build + Benchmarks/sampling.sh (plain, head and tail sampling, the 200k-trace hold)
#   make bench-k8s      release build + Benchmarks/k8s.sh (k8sattributes with 110 pods beside the same pipeline without it)
#   make bench-spanmetrics release build + Benchmarks/spanmetrics.sh (spanmetrics + servicegraph -> prometheus beside batch -> nop)
#   make bench-gateway  release build + Benchmarks/gateway.sh (an agent with loadbalancing before 1, 2, 3 gateways)
#   make bench-clients  release build + Benchmarks/clients.sh (1,000 clients: throughput, p99 to acknowledgement, RSS)
#   make bench-micro    Benchmarks/MicroBench (package-benchmark): codecs, splitter, batch merge, store append, RED connectors on the
#                       1,000-span request, throughput and allocations; BASELINE=compare checks the committed one
#   make fuzz    build the libFuzzer targets (Fuzz/, .build-fuzz, ASan) and fuzz each for FUZZ_SECONDS
#                (default 60) and/or FUZZ_RUNS executions; FUZZ_TARGETS="FuzzHTTP2 FuzzConfig" picks some
#
# Variables you may override: SWIFT, PYTHON, CONFIG, SWIFT_BUILD_FLAGS, SWIFT_TEST_FLAGS, RELEASE_FLAGS,
# FUZZ_SECONDS, FUZZ_RUNS, FUZZ_TARGETS.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# Swift is preinstalled at /opt/swift/usr/bin; use it when `swift` is not already on PATH.
SWIFT_HOME ?= /opt/swift/usr/bin
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := $(SWIFT_HOME):$(PATH)
endif
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
# Release builds link the Swift runtime in, as deploy/Dockerfile does: `make run` runs what the
# image ships, and a static binary maps fewer file pages than one loading the runtime's shared
# libraries (peak RSS under Benchmarks/load.sh 28.6 against 30.5 MiB, BENCHMARKS.md).
# RELEASE_FLAGS= builds against the shared libraries instead.
RELEASE_FLAGS ?= --static-swift-stdlib
SWIFT_TEST_FLAGS ?=

# Debian's python3 (python3-venv is one of the deps); any python3 >= 3.9 works.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV := .venv
REQUIREMENTS := Tests/EndToEndTests/clients/requirements.txt
VENV_STAMP := $(VENV)/.requirements.installed

CONFIG ?= config/collector.yaml

APT_PACKAGES := \
	libnghttp2-dev libprotobuf-c-dev libzstd-dev liblz4-dev libssl-dev zlib1g-dev libsnappy-dev libre2-dev libyaml-dev \
	pkg-config protobuf-compiler protobuf-c-compiler nghttp2-client prometheus \
	python3-venv curl openssl

.PHONY: build run test deps venv bench bench-micro bench-filelog bench-sampling bench-k8s bench-spanmetrics bench-gateway bench-idle bench-connections bench-clients fuzz fuzz-smoke clean distclean help

help:
	@echo "targets: build (release), run, test, bench, bench-filelog, fuzz, deps, venv, clean, distclean"

## deps: install the Debian packages that are missing (a ready machine does nothing).
deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  status=$$(dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null || true); \
	  [[ "$$status" == *"install ok installed"* ]] || missing="$$missing $$pkg"; \
	done; \
	if [[ -n "$$missing" ]]; then \
	  sudo=""; if [[ $$(id -u) -ne 0 ]]; then sudo="sudo"; fi; \
	  echo "deps: installing$$missing"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi; \
	command -v $(SWIFT) >/dev/null || { echo "deps: swift not found (expected in $(SWIFT_HOME))" >&2; exit 1; }

## venv: .venv with the pinned Python clients; rebuilt from scratch when requirements.txt changes.
venv: $(VENV_STAMP)

$(VENV_STAMP): $(REQUIREMENTS) | deps
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check --no-input -q -r $(REQUIREMENTS)
	cp $(REQUIREMENTS) $@

## build: release build of everything, the Swift runtime linked in (the daemon is .build/release/collectord).
build: | deps
	$(SWIFT) build -c release $(RELEASE_FLAGS) $(SWIFT_BUILD_FLAGS)

run: deps build
	mkdir -p data
	.build/release/collectord --config $(CONFIG)

## test: debug build with tests, then every test (unit and end-to-end). The end-to-end tests
## find .build/debug/collectord and .venv/bin/python themselves.
test: deps venv
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test $(SWIFT_TEST_FLAGS)
	$(MAKE) fuzz-smoke
	$(SWIFT) build -c release $(RELEASE_FLAGS) $(SWIFT_BUILD_FLAGS)

## fuzz-smoke: every fuzz target over its seed corpus (Fuzz/corpus) plus 2000 mutations, from a
## debug build (about 1 minute to build, 25 s to run on 2 cores).
fuzz-smoke: | deps
	FUZZ_CONFIG=debug SWIFT=$(SWIFT) Fuzz/run.sh build
	FUZZ_CONFIG=debug Fuzz/run.sh smoke

## fuzz: release build of the fuzz targets, each fuzzed in turn (one process: the corpus grows in
## .build-fuzz/corpus, crashes land in .build-fuzz/artifacts), then the HTTP targets' corpus
## leak-checked (they run without libFuzzer's per-input leak check, see Fuzz/run.sh).
FUZZ_TARGETS ?=
fuzz: | deps
	SWIFT=$(SWIFT) Fuzz/run.sh build
	Fuzz/run.sh fuzz $(FUZZ_TARGETS)
	leaky="$(if $(FUZZ_TARGETS),$(filter FuzzHTTP1 FuzzHTTP2,$(FUZZ_TARGETS)),FuzzHTTP1 FuzzHTTP2)"; \
	if [[ -n "$$leaky" ]]; then Fuzz/run.sh leaks $$leaky; fi

bench: deps venv build
	Benchmarks/load.sh

bench-filelog: deps build
	Benchmarks/filelog.sh

bench-sampling: deps venv build
	Benchmarks/sampling.sh

bench-k8s: deps venv build
	Benchmarks/k8s.sh

## bench-spanmetrics: the cost of spanmetrics + servicegraph -> prometheus beside batch -> nop (about 1,000 series).
bench-spanmetrics: deps venv build
	Benchmarks/spanmetrics.sh

bench-gateway: deps venv build
	Benchmarks/gateway.sh

## bench-connections: RSS per idle HTTP/1.1 and HTTP/2 (gRPC) client connection.
bench-connections: deps venv build
	Benchmarks/connections.sh

## bench-micro: micro-benchmarks (codecs, splitter, batch merge, store append, RED connectors) (ordo-one/benchmark) on the load tests' 1,000-span request.
BASELINE ?=
bench-micro: deps venv
	$(VENV)/bin/python Benchmarks/gen_request.py >/dev/null
	cd Benchmarks/MicroBench && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress \
		$(if $(filter compare,$(BASELINE)),baseline compare default,$(if $(filter update,$(BASELINE)),baseline update default,))

## bench-clients: 1,000 concurrent OTLP clients (gRPC and HTTP/1.1) sending 10-span requests at a steady rate.
bench-clients: deps venv build
	Benchmarks/clients.sh

## bench-idle: idle RSS of the static release build (make build) and a dynamic one, and the binaries' sizes.
bench-idle: deps build
	Benchmarks/idle.sh

clean:
	rm -rf .build .build-fuzz .build-static .build-dynamic data Benchmarks/out

distclean: clean
	rm -rf $(VENV)
