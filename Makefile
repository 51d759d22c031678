# Tapemetric: `make dev` runs the whole pipeline locally; `make test` runs every test; `make bench`
# prints the figures. Every target installs what it needs first (scripts/setup.sh, idempotent).
SHELL := /bin/bash
# Cargo commands go through scripts/env.sh: it points CARGO_TARGET_DIR outside the clone and links the
# DuckDB library that scripts/build-duckdb.sh builds once per machine.
.DEFAULT_GOAL := help
ENV := source scripts/env.sh;

.PHONY: help setup setup-test build build-server build-worker build-sdk dev test lint fuzz bench bench-rollup bench-peers bench-hostile soak clean-dev

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup: ## Install what building and running the pipeline needs (idempotent)
	@bash scripts/setup.sh

setup-test: ## Also install what only tests need: Chromium, ffmpeg, cargo-fuzz, a Python venv (idempotent)
	@bash scripts/setup-test.sh

build: setup ## Build the workspace natively (every crate, tests' binaries included)
	@$(ENV) cargo build --workspace

build-server: setup ## Build the rollup-server binary only (what make dev runs)
	@$(ENV) cargo build -p rollup-server

build-worker: setup ## Build the edge worker to wasm (edge-worker/build)
	@$(ENV) bash scripts/build-worker.sh

build-sdk: setup ## Build the browser SDK (wasm-sdk/js/pkg) and print its gzipped size
	@$(ENV) bash scripts/build-sdk.sh

dev: build-server build-worker build-sdk ## Run worker (:8787), rollup server (:3000) and demo page (:8080); Ctrl-C stops all
	@$(ENV) bash scripts/dev.sh

lint: setup ## cargo fmt --check and clippy -D warnings
	@$(ENV) cargo fmt --all -- --check
	@$(ENV) cargo clippy --workspace --all-targets -- -D warnings
	@$(ENV) cargo clippy -p edge-worker -p edge-wasm-bench --target wasm32-unknown-unknown -- -D warnings
	@$(ENV) cargo clippy -p wasm-sdk --target wasm32-unknown-unknown --lib --tests -- -D warnings
	@$(ENV) cargo clippy -p wasm-sdk --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings

test: setup-test lint build build-worker build-sdk ## Run every test: unit, SDK in headless Chromium, the real pipeline under wrangler dev, bounded fuzzing
	@$(ENV) cargo test --workspace
	@$(ENV) CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=/usr/bin/chromedriver \
	  cargo test -p wasm-sdk --target wasm32-unknown-unknown
	@bash scripts/fuzz.sh

fuzz: setup-test ## Run every fuzz target for FUZZ_SECONDS each (default 15)
	@bash scripts/fuzz.sh

bench: setup build-worker bench-rollup soak bench-hostile ## Print the figures: rollup load and queries at 10 M events, beside PostgreSQL and chDB at 1 M and 10 M, ingest core native and wasm, wrangler-dev load run, one tenant beside a hostile one, UA parsing, SDK size
	@$(MAKE) --no-print-directory bench-peers SIZES="$(BENCH_SIZES)"
	@$(ENV) cargo bench -p edge-worker --bench ingest_core
	@$(ENV) bash scripts/bench-wasm.sh
	@$(ENV) cargo build -q --release -p pipeline-tests --bin edge-load && $$CARGO_TARGET_DIR/release/edge-load --seconds 10
	@$(ENV) bash scripts/build-sdk.sh | tail -n 1

# Lake sizes (events) of the side-by-side run: `make bench-peers` alone does 1 M; `make bench` does both;
# SIZES=100000000 for the big one (about 4 GB of lake, generated once).
SIZES ?= 1000000
BENCH_SIZES ?= 1000000 10000000
QUERY_RUNS ?= 20
bench-peers: setup ## Tapemetric beside PostgreSQL 15 and chDB on the same lake (SIZES="1000000 10000000"), answers checked first; then UA parsing beside the ua-parser crate
	@bash scripts/setup-peers.sh
	@$(ENV) cargo build -q --release -p rollup-server -p pipeline-tests --bin rollup-server --bin peer-bench && \
	  $$CARGO_TARGET_DIR/release/peer-bench --sizes "$(SIZES)" --queries $(QUERY_RUNS)
	@$(ENV) cargo bench -q -p edge-worker --bench ua_parse

EVENTS ?= 10000000
bench-rollup: setup ## Load a generated EVENTS-event lake (default 10 M) and time the dashboard queries
	@$(ENV) cargo build -q --release -p rollup-server -p pipeline-tests --bin rollup-server --bin rollup-bench && \
	  $$CARGO_TARGET_DIR/release/rollup-bench --events $(EVENTS)

SOAK_SECONDS ?= 60
soak: setup build-worker ## Ingest while dashboards poll for SOAK_SECONDS (default 60): events/s, p99s, errors, final counts
	@$(ENV) cargo build -q --release -p rollup-server -p pipeline-tests --bin rollup-server --bin soak && \
	  ROLLUP_SERVER_BIN=$$CARGO_TARGET_DIR/release/rollup-server $$CARGO_TARGET_DIR/release/soak --seconds $(SOAK_SECONDS)

HOSTILE_SECONDS ?= 15
bench-hostile: setup build-worker ## One tenant floods queries, cache misses and pulls while another ingests and polls: the other's p50/p99 with and without it (HOSTILE_SECONDS per phase)
	@$(ENV) cargo build -q --release -p rollup-server -p pipeline-tests --bin rollup-server --bin hostile-bench && \
	  ROLLUP_SERVER_BIN=$$CARGO_TARGET_DIR/release/rollup-server $$CARGO_TARGET_DIR/release/hostile-bench --seconds $(HOSTILE_SECONDS)

clean-dev: ## Forget local pipeline state (.dev-data)
	rm -rf .dev-data
