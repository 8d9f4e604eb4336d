# Kassa: `make run` and `make test` need only Python 3.11+ and git. Each installs what it
# needs when missing: uv into .uv/, then the locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2
CODE := src tests bench migrations

.PHONY: install run demo test lint format bench i18n clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/kassa run

demo: install
	$(BIN)/kassa demo

lint: install
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/ruff check $(CODE)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

test: lint
	@[ -x /usr/bin/chromium ] || echo "NOTE: /usr/bin/chromium is missing: the browser tests will be skipped (apt-get install chromium)"
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: install
	$(BIN)/python -m bench

# Re-extract the UI strings into the catalog template and merge them into each language.
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output -o src/kassa/locales/messages.pot src/kassa
	$(BIN)/pybabel update -i src/kassa/locales/messages.pot -d src/kassa/locales --no-fuzzy-matching

clean:
	rm -rf .uv $(VENV) .mypy_cache .ruff_cache .pytest_cache
