# The two commands of the README: `make demo` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint check clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

## Run the demo on the embedded broker: Kafka, two workers, seeded traffic, a report.
demo: $(STAMP)
	$(BIN)/ecommerce-streams demo

## Run every test (unit, integration, chaos) against a real embedded broker.
test: lint
	$(BIN)/python -m pytest

## Lint: ruff, and mypy (strict on models/).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The fast inner loop: lint and the unit tests (no broker), under a minute.
check: lint
	$(BIN)/python -m pytest -q tests/unit

clean:
	rm -rf $(VENV) var .pytest_cache
