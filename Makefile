# The two commands of the quick start are `make run` and `make test`.
# Each installs what is missing first; a second run installs nothing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,piper]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	scripts/system-deps run
	$(BIN)/listen serve --seed seeds

lint: $(STAMP)
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy

test: $(STAMP) lint
	scripts/system-deps test
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	scripts/system-deps bench
	# as pip does for an installed package: processes start without compiling our modules
	$(BIN)/python -m compileall -q service
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
