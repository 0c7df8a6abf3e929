# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv from the
# committed lock files first; nothing else is needed (no credentials, no network but PyPI).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench soak screenshots clean

setup: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("balcao needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/balcao demo

lint: $(STAMP)
	$(BIN)/ruff check worker tests $(wildcard bench) docs
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python bench/run.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

# Each e-mail kind at phone and desktop widths (docs/email-*.png, committed). Needs Debian's
# chromium: installed with apt-get when missing (as root, as on the project's machines).
screenshots: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-dejavu-core; }
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) demo-out build *.egg-info
