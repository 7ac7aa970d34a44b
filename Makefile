# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install the package, run the main job on bundled data
#                 (the benchmark suite's quick mode: long-tailed digits, 3 seeds)
#   make test   - create .venv if needed, install with test extras, run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch lies on this machine's disk; installing it first keeps
# pip from resolving skorch's torch requirement to a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test test-all bench-kmeans bench-sparse-text clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[test,benchmark,dask,faiss]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m benchmarks.run --quick

test: $(VENV)/.installed
	$(PY) -m pytest -m "not slow"

test-all: $(VENV)/.installed
	$(PY) -m pytest

bench-kmeans: $(VENV)/.installed
	$(PY) benchmarks/bench_spherical_kmeans.py

# TF-IDF vectors of WordNet's glosses (apt-get install wordnet-base)
bench-sparse-text: $(VENV)/.installed
	$(PY) benchmarks/bench_sparse_text.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
