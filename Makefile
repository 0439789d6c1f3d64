# Two commands do all the set-up on a fresh machine:
#   make book   creates .venv, installs everything, executes every chapter, writes the HTML
#   make test   lint, library tests, every chapter under nbval, and the browser test
#
# TORCH is installed before the requirements. The default is a CPU wheel where the
# machine has one; override it to pick another build, e.g.  make book TORCH="torch"
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BOOK_HTML := _build/html/index.html
# Headless Chromium for the browser test: Debian's /usr/bin/chromium, else one on PATH.
CHROMIUM ?= $(shell test -x /usr/bin/chromium && echo /usr/bin/chromium \
                || command -v chromium 2>/dev/null)

.PHONY: all venv vendor book test test-lib test-chapters test-browser lint lab bench \
        verify clean

all: book

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)" || $(PY) -m pip install -q "torch>=2.2,<3"
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

# Local copies of MathJax and the widget scripts, so the book works offline
# (fetched once with npm into .vendor/, then copied; a no-op when up to date).
vendor: $(STAMP)
	$(PY) tools/vendor_assets.py

book: $(STAMP) vendor
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/$(BOOK_HTML)"

lint: $(STAMP)
	$(VENV)/bin/ruff check pathint_lib tests tools book/_ext

test-lib: $(STAMP)
	$(PY) -m pytest -q tests -m "not browser"

test-chapters: $(STAMP)
	$(PY) -m pytest -q --nbval-lax book

test: $(STAMP) lint
	$(PY) -m pytest -q tests book --nbval-lax -m "not browser"
ifneq ($(strip $(CHROMIUM)),)
	@$(MAKE) --no-print-directory test-browser
else
	@echo "browser test SKIPPED: no Chromium found (install: apt-get install chromium)"
endif

# Every page of the built book in headless Chromium, offline (builds the book first;
# execution is cached, so an up-to-date book rebuilds quickly). Fails without Chromium.
test-browser: $(STAMP)
ifeq ($(strip $(CHROMIUM)),)
	@echo "test-browser: no Chromium found (install: apt-get install chromium)" >&2
	@exit 1
endif
	@$(MAKE) --no-print-directory book
	PATHINT_CHROMIUM=$(CHROMIUM) PATHINT_REQUIRE_BROWSER=1 \
	    $(PY) -m pytest -q -m browser tests/browser
	@echo "Screenshots of every page: $(CURDIR)/_build/screenshots/"

# Speed figures: path sums, Monte Carlo, widget updates, training, and build times.
bench: $(STAMP) vendor
	$(PY) bench/bench_paths.py
	$(PY) bench/bench_widgets.py
	$(PY) bench/bench_train.py
	$(PY) bench/bench_build.py

verify: $(STAMP)
	$(PY) -m pathint_lib verify

# Jupyter refuses to run as root unless told; containers often run as root.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab book $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf _build .pytest_cache .ruff_cache book/_static/vendor
