# RALM — every target installs what it needs, so a fresh Debian machine needs only `make`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.install-stamp

.PHONY: help deps system-deps native native-deps proto proto-check build typecheck lint helm-lint images test test-unit demo up status clean data-movielens eval-synth eval-synth-v1 eval-movielens bench-train bench-score bench-cluster

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# npm ci only when the lockfile changed since the last install.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NPM_STAMP) native ## install npm packages and build the native scoring kernel

system-deps: ## install Debian packages the tests use (nats-server, promtool, openssl for test certificates) when missing
	@missing=""; \
	command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing="$$missing nats-server"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  echo "installing with apt-get:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Debian packages the scoring addon builds against; checked by package, so a rerun costs one dpkg-query.
native-deps: ## install libopenblas-dev and build-essential when missing (the packages/kernel addon)
	@missing=""; \
	for p in libopenblas-dev build-essential python3; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing with apt-get:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

KERNEL_ADDON := packages/kernel/build/Release/ralm_kernel.node

# Rebuilt only when its sources change (or node_modules is reinstalled); node-gyp uses the local Node headers, never downloads.
$(KERNEL_ADDON): packages/kernel/binding.gyp packages/kernel/native/kernel.c packages/kernel/native/build.sh $(NPM_STAMP) | native-deps
	bash packages/kernel/native/build.sh

native: native-deps $(KERNEL_ADDON) ## build the OpenBLAS scoring addon (packages/kernel)

proto: deps ## regenerate proto/gen/ts from proto/ralm/v1
	bash scripts/proto-gen.sh

proto-check: deps ## fail if proto/gen/ts is stale or protos are not lint-clean
	bash scripts/proto-check.sh

typecheck: deps ## tsc --noEmit over the whole monorepo
	npx tsc -p tsconfig.json --noEmit

build: typecheck ## type-check (services run from TypeScript through tsx)

lint: proto-check typecheck ## proto lint + generated-code diff + type-check

helm-lint: deps ## helm lint --strict + render charts/ralm for default, CPU, minimal and all-on values; validate every object offline
	bash scripts/helm-lint.sh

images: ## build the five service images and the GPU trainer (needs docker or podman; REGISTRY, TAG, PUSH=1)
	bash scripts/build-images.sh

test-unit: deps ## jest without the proto/type gates
	npx jest

test: deps system-deps lint helm-lint ## every test: lint gates, chart lint, unit, integration (real nats-server, gRPC, Prometheus)
	npx jest --ci

demo: deps ## bring the mesh up, show health and a round trip, stop cleanly
	npx ralm demo

up: deps ## run the five services on loopback until Ctrl-C (NATS when NATS_URL is set)
	npx ralm up

status: deps ## print each running service's health (reads .ralm/mesh.json)
	npx ralm status

MOVIELENS_DIR ?= .ralm/data/movielens
EVAL_DIR ?= .ralm/eval

data-movielens: deps ## fetch MovieLens (Debian r-cran-dslabs) and import it into $(MOVIELENS_DIR)/dataset (not part of test)
	bash scripts/fetch-movielens.sh $(MOVIELENS_DIR)/raw
	npx ralm data import movielens --input $(MOVIELENS_DIR)/raw/movielens.csv --out $(MOVIELENS_DIR)/dataset

eval-synth: deps ## Table 1 (real-time and warm) / Figures 5-6 on 20,000 synthetic-v2 users, within 14 minutes
	npx ralm data synth --users 20000 --items 500 --seed 1 --out $(EVAL_DIR)/synth/data
	npx ralm eval --data $(EVAL_DIR)/synth/data --out $(EVAL_DIR)/synth/report --budget-minutes 14

eval-synth-v1: deps ## the same on the first generator (v1), for comparison
	npx ralm data synth --generator v1 --users 20000 --items 2000 --seed 1 --out $(EVAL_DIR)/synth-v1/data
	npx ralm eval --data $(EVAL_DIR)/synth-v1/data --out $(EVAL_DIR)/synth-v1/report --budget-minutes 14

eval-movielens: data-movielens ## the same evaluation on MovieLens
	npx ralm eval --data $(MOVIELENS_DIR)/dataset --out $(EVAL_DIR)/movielens/report --budget-minutes 14

bench-train: deps ## training throughput of both phases on wasm and cpu, phase 1 against a single-threaded PyTorch reference in the same run (installs python3-torch when missing)
	@dpkg-query -W -f='$${Status}' python3-torch 2>/dev/null | grep -q 'ok installed' || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends python3-torch; }
	npx tsx bench/train.ts

bench-cluster: deps ## k-means of 100,000 and 3,000,000 seeds against scikit-learn's MiniBatchKMeans and KMeans in the same run (installs python3-sklearn when missing)
	@dpkg-query -W -f='$${Status}' python3-sklearn 2>/dev/null | grep -q 'ok installed' || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends python3-sklearn; }
	npx tsx bench/cluster.ts --peers

bench-score: deps ## scoring kernels against single-threaded NumPy/OpenBLAS (installs python3-numpy when missing)
	@dpkg-query -W -f='$${Status}' python3-numpy 2>/dev/null | grep -q 'ok installed' || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends python3-numpy; }
	npx tsx bench/score.ts

clean: ## remove build outputs and local state
	rm -rf dist coverage .ralm packages/kernel/build
