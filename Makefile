# Two commands a newcomer needs (see README):  make lab   and   make test
# Both create .venv on first use (idempotent: later runs reuse it until pyproject.toml or
# constraints.txt changes) and need nothing installed by hand but Python 3.10+ and make.

PYTHON ?= python3
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
# Jupyter refuses to run as root without this flag (containers, CI).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test test-fast bench mutation solutions release clean help
help:
	@echo "make lab    install into $(VENV) and open the course in JupyterLab"
	@echo "make test   install into $(VENV) and run the whole test suite (notebooks in fast mode)"
	@echo "make bench  run the full-mode benchmark recipes and update benchmarks/RESULTS.md"
	@echo "make mutation  mutation-test the reference code (about 15 CPU minutes; see benchmarks/MUTATION.md)"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: packages that depend on it must not pull a different build
	$(BIN)/python -m pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

LAB_DIR ?= $(CURDIR)
lab: install
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) $(ROOT_FLAG) $(LAB_ARGS)

# Notebooks run in fast mode; with the mirror present nothing may touch the network.
# One pytest worker per core, one thread per worker: oversubscribed OpenMP threads spin-wait.
test: install
	OMP_NUM_THREADS=1 DLCOURSE_FAST=1 $(if $(MIRROR),DLCOURSE_OFFLINE=1) DLCOURSE_CACHE=$${DLCOURSE_CACHE:-$(CURDIR)/.cache/dlcourse} $(BIN)/python -m pytest -n auto --dist loadfile \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=300 tests notebooks $(PYTEST_ARGS)

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
