# The two commands a new developer needs are `make demo` and `make test` (see README.md).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $$(scripts/find-python) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/contactpoint demo

# pytest exits 5 when it collects nothing; that is not a failure of the code under test.
test: $(STAMP)
	@$(BIN)/pytest -n 2 -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "No tests collected."; exit 0; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check contactpoint bench
	$(BIN)/ruff format --check contactpoint bench
	$(BIN)/mypy contactpoint bench

# Scale benchmarks: minutes each, never part of `make test` or CI.
bench: $(STAMP)
	$(BIN)/python bench/synth.py
	$(BIN)/python bench/feed_load.py --cases postgresql:2,postgresql:0,sqlite:2
	$(BIN)/python bench/audit_verify.py
	$(BIN)/python bench/audited_reads.py
	$(BIN)/python bench/linkage_febrl.py
	$(BIN)/python bench/linkage_quality.py --children 100000,1000000
	$(BIN)/python bench/linkage_pipeline.py --children 30000
	$(BIN)/python bench/search_quality.py --children 10000
	CONTACTPOINT_DUCKDB_MEMORY_LIMIT=4GB $(BIN)/python bench/search_http.py --children 1000000

clean:
	rm -rf $(VENV) var build *.egg-info
