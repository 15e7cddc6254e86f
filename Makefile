# Everything runs in a local virtual environment (.venv) made from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test docs generate lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# stamps re-run the install when pyproject.toml changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed  ## install and run the main job on the bundled example data
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

test: $(VENV)/.installed-test  ## install the test extras, lint, check the catalog, build the docs, run the suite
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/ruff format --check src tests tools benchmarks
	$(BIN)/lint-imports
	$(BIN)/hub validate catalog/
	$(MKDOCS)
	$(BIN)/python -m pytest

# the site, offline, with every warning an error (mkdocs.yml: strict); NO_MKDOCS_2_WARNING silences the
# theme's notice about MkDocs 2, which is not a warning about these docs
MKDOCS = NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs: $(VENV)/.installed-test  ## build the documentation site into site/ (pages generated from the code)
	$(MKDOCS)

generate: $(VENV)/.installed-test  ## regenerate generated/ from schema/ and the catalog index
	$(BIN)/python tools/generate.py
	$(BIN)/python tools/build_catalog_index.py
	$(BIN)/python tools/build_format_index.py

lint: $(VENV)/.installed-test  ## lint the code, the import layers and the schema
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/lint-imports
	$(BIN)/linkml lint schema/

bench: $(VENV)/.installed-test  ## run the benchmarks and write benchmarks/results.json
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-output site .pytest_cache .ruff_cache
