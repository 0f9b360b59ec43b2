# Two commands do all the set-up on a fresh machine (Python 3.11, Node 20):
#   make demo   - install, then run the main job on its embedded defaults
#   make test   - install, then run the whole test suite
# `make install` alone installs; it is repeated only when requirements.txt changes.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m training demo

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
