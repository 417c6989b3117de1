# make demo: check the shipped rules, run the scenarios, validate a sample request (as JSON, as DUIS XML and
#            with the generated validators), diff, check every rule is live, prove the properties, a small fleet
#            impact run on DuckDB, and write
#            the MP107 evidence bundle.
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
	@echo "== redline validate: the same request as DUIS XML (role from the signing certificate, owner from the certificate) =="
	$(BIN)/redline validate --ruleset mp107 --state examples/stuck-smets1-duis/state.json examples/stuck-smets1-duis/request.xml
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
	@echo "== redline liveness: can every check reject and every exception decide a request? =="
	$(BIN)/redline liveness --ruleset baseline
	$(BIN)/redline liveness --ruleset mp107 --fail-on-dead
	@echo
	@echo "== redline prove: the MP107 properties (counterexamples written to .redline-out/cex) =="
	$(BIN)/redline prove --cex-dir .redline-out/cex
	@echo
	@echo "== redline impact: a small synthetic fleet on DuckDB: which meters MP107 frees, which requests it changes =="
	$(BIN)/redline impact generate .redline-out/fleet --devices 5000 --requests 5000 --wrong-no-share 0.02
	$(BIN)/redline impact fleet .redline-out/fleet --at 2026-03-01T12:00:00Z --visit-cost 150
	$(BIN)/redline impact replay .redline-out/fleet
	@echo
	@echo "== redline report: the evidence bundle for MP107, every result re-checked by cvc5 or by replay =="
	$(BIN)/redline report --out .redline-out/evidence --fleet .redline-out/fleet --at 2026-03-01T12:00:00Z --visit-cost 150
	@echo "evidence bundle: $(CURDIR)/.redline-out/evidence/report.html (and report.md, results.json, smt2/, charts/)"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

# pytest-xdist: one worker per core; a test file stays on one worker (its module fixtures are built once).
# tests/conftest.py starts the heaviest files first and builds the evidence bundles once for all workers.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/prove.py
	$(BIN)/python bench/diff.py
	$(BIN)/python bench/modelcheck.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/duis.py
	$(BIN)/python bench/codegen_equivalence.py
	$(BIN)/python bench/lsp.py
	$(BIN)/python bench/impact.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
