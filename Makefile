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

.PHONY: all venv book test test-lib test-chapters test-browser lint lab bench verify clean

all: book

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)" || $(PY) -m pip install -q "torch>=2.2,<3"
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/$(BOOK_HTML)"

lint: $(STAMP)
	$(VENV)/bin/ruff check pathint_lib tests

test-lib: $(STAMP)
	$(PY) -m pytest -q tests -m "not browser"

test-chapters: $(STAMP)
	$(PY) -m pytest -q --nbval-lax book

test: $(STAMP) lint
	$(PY) -m pytest -q tests book --nbval-lax -m "not browser"

verify: $(STAMP)
	$(PY) -m pathint_lib verify

lab: $(STAMP)
	$(VENV)/bin/jupyter lab book

clean:
	rm -rf _build .pytest_cache .ruff_cache
