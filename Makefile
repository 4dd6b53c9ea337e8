# surveykit: two commands do all the set-up on a fresh machine with Python 3.11 and pip.
#   make report   the main job: per-segment HTML findings + index for the demo survey
#   make test     the test suite
# Both create .venv on first use (editable install with the dev extra) and reuse it.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
OUT    ?= reports/demo

.PHONY: report test bench demo lint clean help

help:
	@echo "make report  - per-segment HTML findings and index for the demo survey ($(OUT)/index.html)"
	@echo "make test    - run the test suite"
	@echo "make bench   - run the speed benchmarks (installs the bench extra)"
	@echo "make demo    - regenerate data/demo (and its second wave, data/demo/wave2) from its seed"
	@echo "make lint    - ruff"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# bytecode once, for every process a report starts (an editable install compiles none,
	@# and PYTHONDONTWRITEBYTECODE=1 would make each process compile the package again)
	$(BIN)/python -m compileall -q surveykit
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/surveykit report \
	    --questionnaire questionnaires/pc_customers.yaml \
	    --data data/demo/responses.csv \
	    --targets data/demo/targets.yaml \
	    --crm data/demo/crm.csv --as-of 2026-11-01 \
	    --segment-by segment \
	    --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest

# one table: every speed target with its peer in the same run (BENCH_ARGS=--quick: 100k
# rows), also written into README.md's speed table; each benchmarks/bench_*.py still runs on
# its own for the details
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/summary.py --readme README.md $(BENCH_ARGS)

demo: $(STAMP)
	$(BIN)/surveykit simulate --out data/demo
	$(BIN)/python -c "from surveykit.questionnaire import load_questionnaire as l; from surveykit.simulate.waves import write_demo_wave as w; w(l('questionnaires/pc_customers.yaml'), 'data/demo/wave2')"
	@for s in employee_engagement product_feedback satisfaction_index; do $(BIN)/surveykit simulate --questionnaire questionnaires/$$s.yaml --truth data/$$s/simulation.yaml --out data/$$s || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check surveykit tests benchmarks

clean:
	rm -rf reports .pytest_cache .ruff_cache
