# make demo: check the shipped rules, run the scenarios, validate a sample request (also with the
# generated validators), prove the properties.
# make test: lint, type-check and run the test suite.
# Both create and fill their own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@echo "== redline check: the shipped rules =="
	$(BIN)/redline check
	@echo
	@echo "== redline test: the scenarios =="
	$(BIN)/redline test
	@echo
	@echo "== redline validate: a Network Operator corrects a wrong NO certificate on SMETS1 =="
	$(BIN)/redline validate --ruleset baseline --state examples/stuck-smets1/state.json examples/stuck-smets1/request.json
	@echo
	$(BIN)/redline validate --ruleset mp107 --state examples/stuck-smets1/state.json examples/stuck-smets1/request.json
	@echo
	@echo "== redline codegen: standalone validators (standard library only), run without redline on the path =="
	$(BIN)/redline codegen --ruleset baseline -o .redline-out/validators/baseline.py
	$(BIN)/redline codegen --ruleset mp107 -o .redline-out/validators/mp107.py
	$(PYTHON) -I -S scripts/run_generated.py .redline-out/validators/baseline.py examples/stuck-smets1/state.json examples/stuck-smets1/request.json
	$(PYTHON) -I -S scripts/run_generated.py .redline-out/validators/mp107.py examples/stuck-smets1/state.json examples/stuck-smets1/request.json
	@echo
	@echo "== redline diff: what MP107 changes, exactly =="
	$(BIN)/redline diff baseline mp107
	@echo
	@echo "== redline prove: the MP107 properties (counterexamples written to .redline-out/cex) =="
	$(BIN)/redline prove --cex-dir .redline-out/cex

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/prove.py
	$(BIN)/python bench/diff.py
	$(BIN)/python bench/codegen_equivalence.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
