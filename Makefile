# Every target creates/uses the virtual environment in .venv, installs what it needs, then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DSGRID_VENV := .dsgrid-venv
DSGRID_VERSION := 0.4.0

.PHONY: install demo test lint format bench dsgrid-check dsgrid-expected clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "dsgrid-sql needs Python 3.11 or newer (PYTHON=$(PYTHON))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dsgrid-sql demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench all

# Checks generated registries with dsgrid itself, installed in its own environment (never a
# dependency of dsgrid-sql).
$(DSGRID_VENV)/.installed:
	$(PYTHON) -m venv $(DSGRID_VENV)
	$(DSGRID_VENV)/bin/python -m pip install --quiet "dsgrid-toolkit==$(DSGRID_VERSION)"
	@touch $@

SHAPES := commercial,residential,ev_annual,ev_rep_week,ev_rep_weekday,industry_index,industry_index_pe,growth

# Every shape the generator writes, and registries spelled the other ways dsgrid accepts
# (--legacy-seed), registered, loaded and queried by dsgrid itself.
dsgrid-check: $(STAMP) $(DSGRID_VENV)/.installed
	rm -rf build/dsgrid-check
	$(BIN)/dsgrid-sql generate build/dsgrid-check/default --counties 6 --hours 24
	$(BIN)/dsgrid-sql generate build/dsgrid-check/odd --counties 5 --hours 24 \
		--datasets 5 --unsubmitted 1 --ev-metric-base
	$(BIN)/dsgrid-sql generate build/dsgrid-check/shapes --counties 6 --hours 8760 \
		--model-years 2020,2030 --templates $(SHAPES)
	for seed in 1 2 3 4 5; do \
		$(BIN)/dsgrid-sql generate build/dsgrid-check/legacy$$seed --counties 3 --hours 24 \
			--templates $(SHAPES) --legacy-seed $$seed || exit 1; \
	done
	$(BIN)/dsgrid-sql generate build/dsgrid-check/efs_like --like test_efs
	$(BIN)/dsgrid-sql generate build/dsgrid-check/versions --counties 3 --hours 24 \
		--dataset-versions 3
	# test_efs_comstock_time_in_parts keeps the oddity of dsgrid's own test_efs (its
	# time-in-parts config no longer matches its Parquet), which dsgrid's check refuses.
	for registry in build/dsgrid-check/*/registry.db; do \
		$(DSGRID_VENV)/bin/python tools/dsgrid_check/validate_registry.py $$registry \
			--aggregate "US States" --registration-checks \
			--skip-dataset test_efs_comstock_time_in_parts || exit 1; \
	done

# dsgrid's own answers for the cases in tests/dsgrid_expected (compared by the tests).
dsgrid-expected: $(STAMP) $(DSGRID_VENV)/.installed
	$(DSGRID_VENV)/bin/python tools/dsgrid_check/expected_results.py \
		tests/dsgrid_expected/cases.json --generator $(BIN)/dsgrid-sql

clean:
	rm -rf $(VENV) $(DSGRID_VENV) build dist *.egg-info demo bench/cache
