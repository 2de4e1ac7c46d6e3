# The two commands of the README. Each runs the idempotent set-up first.
SHELL := /bin/bash
VENV := .venv/bin
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup demo test gas fuzz mutants

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/sec demo

# Contracts are compiled once before the two test workers start (they would race on Ape's
# cache); each worker takes whole files (--dist loadfile), so module fixtures are built once.
test: setup
	@$(VENV)/ape compile >.venv/compile.log 2>&1 || { cat .venv/compile.log; exit 1; }
	$(VENV)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests

gas: setup
	$(VENV)/python scripts/gas_report.py

fuzz: setup
	SEC_FUZZ_RANDOM=1 SEC_FUZZ_EXAMPLES=300 SEC_FUZZ_STEPS=50 $(VENV)/python -m pytest -q -p no:cacheprovider tests/contracts/test_escrow_invariants.py

# Hand-written mutants, one at a time, against the tests that cover each file; prints a score
# per component and the survivors. MUTANTS_ARGS="--limit 3 --component consensus" narrows it.
mutants: setup
	$(VENV)/python scripts/mutants.py $(MUTANTS_ARGS)
