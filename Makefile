# Two commands do all the set-up on a fresh machine:
#   make run    set up, build the index if missing or stale, start the web chat
#   make test   set up (with test tools, a headless Chromium and the local LLM server), run every test
#
# TORCH: how torch is installed before everything else. The default takes the CPU
# build that lies on these machines; elsewhere, for a CPU build from PyTorch's own index:
#   make setup TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
# or, for a GPU build, TORCH=torch (PyPI's default CUDA build, several GB).
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# Every package's exact version and hashes, for all platforms and Python >= 3.10; `make lock` writes it.
LOCK := requirements.lock
UV := uv==0.13.8

.PHONY: setup run index test test-fast lint browser benchmark llm-test lock train train-verifier
.DEFAULT_GOAL := run

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

# After adding a dependency to pyproject.toml (or merging one): write requirements.lock again.
# torch is left out on purpose (installed first, by TORCH above): an override that never applies
# drops it and the CUDA packages PyPI's build would pull in.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(UV)
	printf 'torch ; sys_platform == "never"\n' > $(VENV)/lock-overrides.txt
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.10 --generate-hashes \
	  --override $(VENV)/lock-overrides.txt --no-header --quiet -o $(LOCK)

run: setup
	$(BIN)/assistant web

# The answer models (assistant/answer/*.json), trained again from the question sets; see training/train.py.
train: setup
	$(PY) -m pip install -q -e '.[train]'
	$(PY) -m training.train

# The answer verifier (training/verifier.py) and its comparison with the features, after `make train`
# (it reuses the evidence that collected): 15–25 min on one busy CPU.
train-verifier: setup
	$(PY) -m pip install -q -e '.[train]'
	$(PY) -m training.train --reuse --compare-verifier

index: setup
	$(BIN)/assistant index

# Debian's Chromium for the browser tests (test tools cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } \
	  || echo "no chromium: browser tests will be skipped"

# llm-install compiles llama.cpp once (~5-9 min on 2 cores) for the generated-answer tests.
test: setup browser llm-install
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# Quick loop while developing: no model server, no browser.
test-fast: setup
	$(PY) -m pytest -q -m "not llm and not browser and not milvus_server"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

benchmark: setup
	$(PY) -m benchmarks.run

include llm.mk
