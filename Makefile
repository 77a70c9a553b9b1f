# Hotline: `make run` sets up and runs the main job, `make test` sets up and runs every test.
# Both start from a fresh machine with only Python 3.11, make and the package registries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSDEPS_STAMP := $(VENV)/.sysdeps
CONFIG ?= config
SCENARIO ?= scenarios/emergency_day.yaml

.PHONY: run test bench lint typecheck pytest install sysdeps clean

run: install
	$(BIN)/hotline check $(CONFIG)
	$(BIN)/hotline call --config $(CONFIG) --line 12345 --keys "1 2"
	$(BIN)/hotline call --config $(CONFIG) --line 12345
	$(BIN)/hotline call --config $(CONFIG) --line 12345 --mode emergency --say "疫情防控"
	$(BIN)/hotline simulate $(SCENARIO) --config $(CONFIG)

test: install sysdeps lint typecheck pytest

lint: install
	$(BIN)/ruff check hotline tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install sysdeps
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install sysdeps
	@for b in bench/*.py; do \
	  case $$b in bench/_*|bench/acd_decisions.py) continue;; esac; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; \
	done

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Speech tests synthesise audio with espeak-ng and resample it with sox (Debian packages).
sysdeps: $(SYSDEPS_STAMP)

$(SYSDEPS_STAMP):
	@if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq espeak-ng sox; \
	fi
	@mkdir -p $(VENV) && touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
