# grt-deploy: the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Molecule scenarios `make test` runs, in order (quick ones first; `molecule
# test --all` runs the same set in name order). `default` is the monolith, so
# that a plain `molecule test` runs it.
SCENARIOS ?= docker_host docker_host_preflight docker_host_repository llm_router_build default split

.PHONY: help deps vault lint docs test-env test-unit test molecule-% bench demo demo-clean test-env-clean clean

help: ## List the targets
	@grep -E '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

deps: $(VENV)/.deps-stamp ## Create .venv with the pinned toolchain and the collections

$(VENV)/.deps-stamp: requirements.txt requirements.yml lib/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	# grt_split, the split scenario's client for its tests and `make bench`
	# (editable: both import the working tree's code).
	$(BIN)/pip install --quiet --editable lib
	# Satisfied by the ansible bundle; fetches from Galaxy only where a range is not met.
	$(BIN)/ansible-galaxy collection install -r requirements.yml
	touch $@

lint: deps ## yamllint + ansible-lint (production profile) + argument specs vs defaults vs README
	yamllint --strict .
	ansible-lint
	python tools/argument_specs.py check

docs: deps ## Regenerate the README's variable table from the roles' argument specs
	python tools/argument_specs.py docs

test-env: deps ## Docker engine, base/test-host/offline images and the local registry (cached)
	test-fixtures/harness/up.sh

test-unit: deps ## The project's own tools and the offline image fixtures
	# A worker per core, a test file per worker at a time (its module fixtures are built once).
	python -m pytest -p no:cacheprovider -n auto --dist loadfile --durations=15 tests test-fixtures/tests

# Every scenario runs even when one fails; what failed (tests, tasks) is listed last, where the tail of a CI
# log shows it.
test: lint test-env test-unit ## Everything CI runs: lint, fixture tests, every Molecule scenario
	log=$$(mktemp); failed=()
	trap 'rm -f "$$log" "$$log.failed"' EXIT
	for scenario in $(SCENARIOS); do
	  echo "=== molecule test -s $$scenario"
	  # Without Molecule's borders, which wrap every line at the terminal's width (80 columns in CI).
	  if ! molecule test --no-command-borders -s $$scenario 2>&1 | tee "$$log"; then
	    failed+=("$$scenario")
	    # pytest's FAILED/ERROR lines, molecule's ERROR/CRITICAL ones, and Ansible's fatal ones not ignored.
	    sed 's/\x1b\[[0-9;]*m//g' "$$log" | awk -v s="$$scenario" '
	      pending != "" { if ($$0 !~ /^\.\.\.ignoring/) print s ": " pending; pending = "" }
	      /^fatal: / { pending = substr($$0, 1, 400); next }
	      /^(FAILED|ERROR|CRITICAL) / && !/^FAILED - RETRYING/ { print s ": " substr($$0, 1, 400) }
	      END { if (pending != "") print s ": " pending }' >> "$$log.failed"
	  fi
	done
	if (( $${#failed[@]} )); then
	  echo "=== failed: $${failed[*]}"
	  cat "$$log.failed"
	  exit 1
	fi

molecule-%: test-env ## One Molecule scenario, e.g. make molecule-docker_host (the monolith: molecule-default)
	molecule test -s $*

# Benchmarks `make bench` runs: split (the proxy pair on the split scenario), link (the pair on loopback
# against a minimal nginx pair and stunnel), doors (a crowd arriving at the monolith).
BENCH ?= split link doors

bench: test-env ## Benchmarks, not in `make test` (BENCH=split|link|doors, BENCH_ARGS=...); results in bench/results/
	pip install --quiet -r requirements-bench.txt
	for bench in $(BENCH); do
	  bench/$$bench.sh $(BENCH_ARGS)
	done

vault: deps ## Create the vaulted secrets and .vault-pass if absent (never overwrites)
	tools/vault-init.sh

demo: deps ## Deploy the monolith into a disposable local Debian 13 host and print its URL
	tools/demo.sh

demo-clean: ## Remove the demo host
	tools/demo.sh clean

test-env-clean: ## Remove the harness registry, network and images (the next test-env rebuilds them)
	test-fixtures/harness/down.sh

clean: ## Remove .venv
	rm -rf $(VENV)
