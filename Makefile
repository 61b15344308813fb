# UpStage Hub: `make run` starts the hub on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install run test clean

install: $(PY_STAMP) $(if $(wildcard package.json),$(NPM_STAMP))

$(PY_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(NPM_STAMP): package.json
	@command -v npm >/dev/null || { echo "npm is missing: on Debian run 'apt-get install nodejs npm'"; exit 1; }
	npm install --no-audit --no-fund --silent
	@touch $@

run: install
	$(PY) -m hub serve

test: install
	$(PY) -m pytest

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
