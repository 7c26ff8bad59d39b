# smsgate: the two commands are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= var/smsgate.db
HOST ?= 127.0.0.1
PORT ?= 8080
NODE_PEERS := tests/peers/node_modules/.installed

.PHONY: run test lint bench install peers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Independent peers the tests talk to (npm oracle and SMPP peer; Debian tools).
$(NODE_PEERS): tests/peers/package.json
	cd tests/peers && npm install --no-audit --no-fund --silent
	touch $(NODE_PEERS)

peers: $(NODE_PEERS)
	sh tests/peers/install-debian.sh

run: $(STAMP)
	mkdir -p $(dir $(DB))
	$(BIN)/smsgate init --database sqlite:///$(DB) --demo
	$(BIN)/smsgate serve --database sqlite:///$(DB) --host $(HOST) --port $(PORT)

test: $(STAMP) peers
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check smsgate tests bench
	$(BIN)/ruff format --check smsgate tests bench
	$(BIN)/mypy

bench: $(STAMP) peers
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var tests/peers/node_modules
