# Everything installs into .venv on first use; `make test` is what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install data report pretrained test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP)

data: $(STAMP)
	$(BIN)/digitrec data

# Quick start's main job for now: fetch MNIST, train the default model, write its report.
report: $(STAMP)
	$(BIN)/digitrec train cnn_fast --out bundles/cnn_fast --report reports/cnn_fast

# The shipped model: one fixed-seed command, on all 60,000 training images.
pretrained: $(STAMP)
	$(BIN)/digitrec train cnn --val-split 0 --seed 0 --out src/digitrec/pretrained --report reports/pretrained

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not mnist and not browser"

bench: $(STAMP)
	$(BIN)/python benchmarks/train_bench.py

clean:
	rm -rf $(VENV) bundles reports .pytest_cache
