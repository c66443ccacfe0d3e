# The platform's everyday commands. On a fresh Debian 12 machine: `make up`, `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STATE_DIR ?= $(HOME)/.deis-platform
# Extra flags for `deisctl up`, e.g. make up UP_ARGS="--api-port 8001 --domain example.test"
UP_ARGS ?=

.PHONY: help install up down status test lint bench images clean

help:
	@echo "make install  Debian packages (python3-venv git postgresql wrk curl) and .venv"
	@echo "make up       install, start the platform (deisctl up), make an administrator"
	@echo "make down     stop the platform"
	@echo "make status   is it running, where"
	@echo "make test     lint and every test, as CI does (scripts/test.sh)"
	@echo "make lint     ruff check, ruff format --check, mypy, lint-imports"
	@echo "make bench    the benchmarks in bench/ (results in bench/results/)"
	@echo "make images   the platform's images (podman; IMAGE_PREFIX=deis VERSION=...)"

install:
	scripts/install.sh

up: install
	STATE_DIR="$(STATE_DIR)" scripts/up.sh $(UP_ARGS)

down:
	$(BIN)/deisctl down --state-dir "$(STATE_DIR)"

status:
	$(BIN)/deisctl status --state-dir "$(STATE_DIR)"

test:
	scripts/test.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	@set -e; for script in bench/*.py; do \
		echo "==> $(BIN)/python $$script"; \
		$(BIN)/python "$$script"; \
	done

images: install
	images/build.sh

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache build dist
