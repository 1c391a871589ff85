# tasim: two entry points, both self-contained on a fresh machine (they create .venv themselves).
#   make demo   set up, then run the quickstart sweep (results + Pareto plot + report)
#   make test   set up, then run the whole test suite (fast, slow and torch-marked tests)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tasim-installed
SCALESIM_VENV := .venv-scalesim

.PHONY: demo test lint bench golden clean scalesim-ref browser fuzz

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned to the CPU wheel on disk: an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[test,dist,search,trace]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m simulator.jitcache
	$(VENV)/bin/tasim sweep sweeps/specs/quickstart.yaml -o results/quickstart
	@echo "Report: results/quickstart/report.html  (Pareto plot: results/quickstart/pareto.png)"

# SCALE-Sim 3.0.0 in its own venv (needs numpy<2.4): the reference that the live cross-check tests run.
# Best effort: if it cannot be installed, those tests skip and everything else still runs.
scalesim-ref:
	@[ -x $(SCALESIM_VENV)/bin/python ] && $(SCALESIM_VENV)/bin/python -c "import scalesim" 2>/dev/null || \
	  ( $(PYTHON) -m venv $(SCALESIM_VENV) && \
	    $(SCALESIM_VENV)/bin/python -m pip install -q "scalesim==3.0.0" "numpy<2.4" ) || \
	  ( rm -rf $(SCALESIM_VENV); echo "SCALE-Sim reference venv unavailable: its cross-check tests will skip" )

# Debian's headless Chromium for the explorer's browser tests (Playwright, from the test extra, drives it).
# Installed when missing if we are root; otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  ( [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ) || \
	  echo "Chromium unavailable (not root, or apt-get failed): the explorer's browser tests will skip or fail"

test: $(STAMP) scalesim-ref browser
	$(PY) -m simulator.jitcache
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "slow or not slow" -p no:cacheprovider

# the long fuzz campaign (>= 10,000 generated inputs through the CLI; figures printed at the end)
FUZZ_REPORT := results/fuzz-report.jsonl
fuzz: $(STAMP)
	mkdir -p results && rm -f $(FUZZ_REPORT)
	TASIM_FUZZ_PROFILE=long TASIM_FUZZ_REPORT=$(FUZZ_REPORT) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz; \
	  rc=$$?; $(PY) tests/fuzz/summary.py $(FUZZ_REPORT); exit $$rc

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) -m simulator.jitcache
	$(PY) benchmarks/run_all.py

golden:
	$(PYTHON) scripts/scalesim_golden.py

clean:
	rm -rf $(VENV) $(SCALESIM_VENV) results .pytest_cache
