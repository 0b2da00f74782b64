# The two commands of the README. Both create .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

run: install
	$(BIN)/ledger demo --if-empty
	$(BIN)/ledger serve --host 127.0.0.1 --port 8000

test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install-dev
	$(BIN)/ruff check domain projections api tests bench ledger_verifier
	$(BIN)/lint-imports

bench: install-dev
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) var build *.egg-info
