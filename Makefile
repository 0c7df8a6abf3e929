# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv from the
# committed lock files first; nothing else is needed (no credentials, no network but PyPI).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench soak screenshots report-screenshot clean faketime

setup: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("balcao needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/balcao demo

lint: $(STAMP)
	$(BIN)/ruff check worker tests $(wildcard bench) docs
	$(BIN)/mypy

test: lint faketime
	$(BIN)/python -m pytest -q -n 2

# Debian's faketime runs `balcao` under a moved clock in the jobs' tests (tests/fakeclock.py):
# installed with apt-get when missing and possible (root with apt, as CI); otherwise those
# tests are skipped, saying why.
faketime:
	@command -v faketime >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q faketime; } || echo "faketime not installed: the moved-clock tests will be skipped"; }

bench: $(STAMP)
	$(BIN)/python bench/run.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

# Each e-mail kind at phone and desktop widths (docs/email-*.png, committed). Needs Debian's
# chromium: installed with apt-get when missing (as root, as on the project's machines).
screenshots: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-dejavu-core; }
	$(BIN)/python docs/screenshots.py

# The month's report page of a synthetic month (bench/report_month.py) rendered to
# docs/report.png with Debian's chromium (apt-get install chromium); tests never need it.
CHROMIUM ?= chromium
REPORT_DIR := demo-out/report
report-screenshot: $(STAMP)
	@command -v $(CHROMIUM) >/dev/null || { echo "needs chromium: apt-get install -y chromium"; exit 1; }
	$(BIN)/python bench/report_month.py --requests 300 --month 2026-03 --out $(REPORT_DIR)
	mkdir -p docs
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,2350 \
		--screenshot=$(CURDIR)/docs/report.png file://$(CURDIR)/$(REPORT_DIR)/balcao-2026-03.html \
		2>/dev/null

clean:
	rm -rf $(VENV) demo-out build *.egg-info
