# Stride — developer entry points. A fresh clone needs nothing but python3 (>= 3.11).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test fuzz lint protos bench clean

$(STAMP): pyproject.toml integrations/*/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps -e integrations/stride-mes-oee -e integrations/stride-crm-complaints
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/stride up

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Schemathesis over the whole API against a real stack (tests/fuzz; its own CI phase).
fuzz: $(STAMP)
	$(BIN)/python -m pytest -q tests/fuzz -m fuzz $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

protos: $(STAMP)
	$(BIN)/python -m services.common.protogen

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .stride .pytest_cache .mypy_cache .ruff_cache
