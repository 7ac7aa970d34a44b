# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install the package, run the main job on bundled data
#                 (the benchmark suite's quick mode: long-tailed digits, 3 seeds)
#   make test   - create .venv if needed, install with test extras, run the tests
# and:
#   make docs       - install the docs extra, build docs/_build/html (-W -n),
#                     running every example of the gallery
#   make docs-quick - the same without running the examples (CI)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch lies on this machine's disk; installing it first keeps
# pip from resolving skorch's torch requirement to a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test test-all test-kernels docs docs-quick bench-kmeans bench-sparse-text clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[test,benchmark,dask,faiss]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m benchmarks.run --quick

# the docs extra on top of the test install (torch already pinned above)
$(VENV)/.docs-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@

SPHINXOPTS ?=
SPHINXBUILD = $(PY) -m sphinx -W --keep-going -n -b html
docs: $(VENV)/.docs-installed
	$(SPHINXBUILD) $(SPHINXOPTS) docs docs/_build/html

docs-quick: $(VENV)/.docs-installed
	$(SPHINXBUILD) -D plot_gallery=0 $(SPHINXOPTS) docs docs/_build/html

test: $(VENV)/.installed
	$(PY) -m pytest -m "not slow"

test-all: $(VENV)/.installed
	$(PY) -m pytest

# README's and the user guide's printed values under torch's other CPU
# kernels (no vector instructions; AVX2), as on a CPU unlike this one
test-kernels: $(VENV)/.installed
	for cap in default avx2; do \
		ATEN_CPU_CAPABILITY=$$cap $(PY) -m pytest -q -p no:cacheprovider \
			tests/test_readme.py tests/test_documentation.py \
			-k prints_its_comments || exit 1; \
	done

bench-kmeans: $(VENV)/.installed
	$(PY) benchmarks/bench_spherical_kmeans.py

# TF-IDF vectors of WordNet's glosses (apt-get install wordnet-base)
bench-sparse-text: $(VENV)/.installed
	$(PY) benchmarks/bench_sparse_text.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache docs/_build docs/api \
		docs/auto_examples docs/gen_modules
