# UpStage Hub: `make run` starts the hub on the embedded default, `make test` lints, type-checks and
# runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install install-browser install-streaming run streaming lint test clean

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

# Browser tests drive Debian's Chromium (never a downloaded browser). Install it when missing and
# the machine allows it (root with apt-get); otherwise say how.
install-browser:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$HUB_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }; \
	else echo "Chromium is missing: browser tests need it. Run 'sudo apt-get install chromium' (or set HUB_CHROMIUM=/path/to/chromium)."; fi

# Live streams (docs/streaming.md): Debian's nginx with the RTMP module, and ffmpeg (the tests
# publish a test pattern with it). Installed when missing and the machine allows it.
install-streaming:
	@if command -v ffmpeg >/dev/null && { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing nginx-light, libnginx-mod-rtmp and ffmpeg for live streams..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-rtmp ffmpeg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-rtmp ffmpeg >/dev/null; }; \
	else echo "Live streams need nginx with the RTMP module and ffmpeg: run 'sudo apt-get install nginx-light libnginx-mod-rtmp ffmpeg'."; fi

# nginx-rtmp beside the hub (run `make run` too): RTMP in on HUB_STREAM_RTMP_PORT, HLS out on HUB_STREAM_HLS_PORT.
streaming: install install-streaming
	$(PY) -m hub streaming

# ruff (lint, no formatting) and mypy over the packages and tests; either failing stops `make test`.
lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

# The suite on PYTEST_WORKERS pytest-xdist processes (most tests wait on child processes and sockets,
# not the CPU); tests marked xdist_group("serial") share one worker so they never overlap each other.
# `pytest tests/test_x.py` alone runs in one process, with no xdist start-up.
PYTEST_WORKERS ?= 2
test: lint install-browser install-streaming
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis .mypy_cache .ruff_cache
