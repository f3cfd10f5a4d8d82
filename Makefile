# The two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/retain demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# lifetimes, the models benchmark's baseline, lives in its own environment: never a
# dependency of Retain.
LIFETIMES := bench/.venv-lifetimes/.installed
$(LIFETIMES): bench/requirements-lifetimes.txt
	$(PYTHON) -m venv bench/.venv-lifetimes
	bench/.venv-lifetimes/bin/python -m pip install --quiet -r bench/requirements-lifetimes.txt
	touch $(LIFETIMES)

bench: $(STAMP) $(LIFETIMES)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/import.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/models.py
	$(BIN)/python bench/recommend.py
	$(BIN)/python bench/send.py
	$(BIN)/python bench/flows.py
	$(BIN)/python bench/loyalty.py
	$(BIN)/python bench/feedback.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) bench/.venv-lifetimes retain-demo.db* demo-store bench/results
