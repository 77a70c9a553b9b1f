# Hotline: `make run` sets up and runs the main job, `make test` sets up and runs every test.
# Both start from a fresh machine with only Python 3.11, make and the package registries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSDEPS_STAMP := $(VENV)/.sysdeps
CONFIG ?= config
SCENARIO ?= scenarios/emergency_day.yaml
SPEED ?= 10
DEMO_SECONDS ?= 20

.PHONY: run demo checks test bench lint typecheck pytest install sysdeps services clean

# The quick checks, then the centre itself in the foreground (Ctrl-C stops it gracefully).
run: checks
	@echo
	@echo "== hotline serve: the live centre with simulated calls ($(SPEED)x real time)."
	@echo "   Open the address below in a browser and log in with the printed supervisor"
	@echo "   password (shown once, when the user table is empty). Ctrl-C stops it."
	$(BIN)/hotline serve --config $(CONFIG) --simulate $(SCENARIO) --speed $(SPEED)

# The same, bounded: serves for DEMO_SECONDS, then stops it (SIGINT) like Ctrl-C would.
demo: install
	timeout --signal=INT --preserve-status $(DEMO_SECONDS) \
	  $(BIN)/hotline serve --config $(CONFIG) --simulate $(SCENARIO) --speed $(SPEED) --port 0

checks: install
	$(BIN)/hotline check $(CONFIG)
	$(BIN)/hotline call --config $(CONFIG) --line 12345 --keys "1 2"
	$(BIN)/hotline call --config $(CONFIG) --line 12345
	$(BIN)/hotline call --config $(CONFIG) --line 12345 --mode emergency --say "疫情防控"
	$(BIN)/hotline simulate $(SCENARIO) --config $(CONFIG)

test: install sysdeps services lint typecheck pytest

lint: install
	$(BIN)/ruff check hotline tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install sysdeps services
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

# Speech tests synthesise audio with espeak-ng and resample it with sox; the browser
# tests drive Debian's chromium (/usr/bin/chromium) with Playwright, and a CJK font makes
# the Chinese pages legible in their screenshots.
sysdeps: $(SYSDEPS_STAMP)

$(SYSDEPS_STAMP):
	@if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null \
	    || ! [ -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng sox chromium fonts-wqy-microhei; \
	fi
	@mkdir -p $(VENV) && touch $@

# The store's, service's and API's tests run against PostgreSQL on 127.0.0.1:5432 (trust,
# database `test`): start the local cluster if it is installed but stopped; on a fresh
# machine install it, trust loopback connections and create the database.
services:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! command -v pg_ctlcluster >/dev/null; then \
	  echo "== installing PostgreSQL"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; \
	  VERSION=$$(ls /etc/postgresql | sort -n | tail -1); \
	  HBA=/etc/postgresql/$$VERSION/main/pg_hba.conf; \
	  printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' \
	    | $$SUDO tee $$HBA.hotline >/dev/null; \
	  $$SUDO sh -c "cat $$HBA >> $$HBA.hotline && mv $$HBA.hotline $$HBA"; \
	  $$SUDO pg_ctlcluster --skip-systemctl-redirect $$VERSION main reload 2>/dev/null || true; \
	fi; \
	VERSION=$$(ls /etc/postgresql | sort -n | tail -1); \
	if ! pg_lsclusters -h 2>/dev/null | grep -q "^$$VERSION *main .*online"; then \
	  $$SUDO pg_ctlcluster --skip-systemctl-redirect $$VERSION main start; \
	fi; \
	for i in $$(seq 1 30); do \
	  pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; \
	done; \
	pg_isready -h 127.0.0.1 -p 5432; \
	if ! psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname='test'" \
	    | grep -q 1; then \
	  psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null \
	  || su postgres -c 'psql -c "create database test"' >/dev/null \
	  || sudo -u postgres psql -c "create database test" >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
