# Everything installs into .venv on first use; `make test` is what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser-deps data report run pretrained test test-fast bench bench-serve bench-external clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright cannot download its own browser here).
browser-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

data: $(STAMP)
	$(BIN)/digitrec data

# The web page and API on http://127.0.0.1:8000 with the shipped model.
run: $(STAMP)
	$(BIN)/digitrec serve --host 127.0.0.1 --port 8000 --workers 2

# Fetch MNIST, train the fast CNN, write its report.
report: $(STAMP)
	$(BIN)/digitrec train cnn_fast --out bundles/cnn_fast --report reports/cnn_fast

# The shipped model: one fixed-seed command. Settings were chosen on a 5,000-image validation
# split (see README); this final fit uses all 60,000 training images, then calibrates and reports.
pretrained: $(STAMP)
	$(BIN)/digitrec train cnn --val-split 0 --seed 0 --out src/digitrec/pretrained
	$(BIN)/digitrec calibrate src/digitrec/pretrained
	$(BIN)/digitrec evaluate src/digitrec/pretrained --report reports/pretrained

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not mnist and not browser"

bench: $(STAMP)
	$(BIN)/python benchmarks/train_bench.py

bench-serve: $(STAMP)
	$(BIN)/python benchmarks/serve_bench.py

bench-external: $(STAMP)
	$(BIN)/python benchmarks/external.py --ablation

clean:
	rm -rf $(VENV) bundles reports .pytest_cache
