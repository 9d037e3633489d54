# The two commands: `make demo` (set up, then run the main job on the
# embedded local stack) and `make test` (set up, then run the tests).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast protos check-protos install clean-state

demo: $(STAMP)
	$(BIN)/terrafake demo $(ARGS)

test: $(STAMP) check-protos
	scripts/install_test_tools.sh
	$(BIN)/python -m pytest $(ARGS)

# The tests that need no local stack (models, training, imaging, reports, configuration).
test-fast: $(STAMP) check-protos
	$(BIN)/python -m pytest -m "not stack" $(ARGS)

install: $(STAMP)

# torch goes in first and alone: the pinned 2.13.0 CPU wheel is on disk, and
# installing it in the same resolve as everything else can pull the CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

check-protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py --check
