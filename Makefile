# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
DATABASE_URL ?=

.PHONY: run test test-rust test-pooler pgbouncer interop client client-generate fuzz-quick fuzz smoke bench bench-lean bench-tools symbol-order k8s-check lint fmt migrate migrate-cli release dev-token clean-data check-deps

## Serve the API on 127.0.0.1:8000 (dev profile, SQLite in data/todo.db, zero config).
run:
	$(CARGO) run -p todo-server --

## Run every test: unit (mockall), adapters (SQLite + PostgreSQL), HTTP contract, end-to-end,
## the PostgreSQL adapters again through PgBouncer, the Better Auth interop suite and the
## TypeScript client's.
## PostgreSQL is expected at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
test: test-rust test-pooler interop client fuzz-quick

test-rust:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi
	@# The criterion benches build and run each case once, untimed, so they cannot rot.
	$(CARGO) test --workspace --bench '*'

## The PostgreSQL adapter suite through PgBouncer in transaction mode. PgBouncer is built
## first when missing (root only: exit 3 from build.sh means it cannot be here, and the
## pass is then skipped with the reason; any other failure fails make test).
test-pooler:
	@bash docker/pgbouncer/build.sh || [ $$? -eq 3 ]
	python3 docker/pgbouncer/adapters.py

## PgBouncer >= 1.21 at target/pgbouncer (built from Debian's source package; needs root).
## make test-pooler runs it too.
pgbouncer:
	bash docker/pgbouncer/build.sh

## The real Better Auth library (pinned in interop/better-auth) against the built binary.
interop:
	$(CARGO) build --workspace --bins
	cd interop/better-auth && npm ci --no-audit --no-fund && npm test

## The TypeScript client (clients/typescript): its committed OpenAPI document and generated
## types are current (fails when stale: see client-generate), the package and its example
## type-check, and node's test runner drives every endpoint through it against the built
## binary, on SQLite and on PostgreSQL.
client:
	$(CARGO) build -p todo-server
	cd clients/typescript && npm ci --no-audit --no-fund
	cd clients/typescript && npm run --silent check-generated
	cd clients/typescript && npm run --silent typecheck
	cd clients/typescript && npm run --silent build
	cd clients/typescript && npm test

## After an API change: rewrite clients/typescript/openapi.json and src/schema.ts from the
## built binary (then commit them).
client-generate:
	$(CARGO) build -p todo-server
	cd clients/typescript && npm ci --no-audit --no-fund && npm run --silent generate

## Every operation of the OpenAPI document, generated from the document itself (schemathesis,
## pinned, in a virtualenv under the target directory), against the debug binary on a fresh
## PostgreSQL database, with a seeded user's token and then an admin's (a task, a shared list,
## its member and a trash entry seeded, so that every route is reachable): the document's
## examples and every boundary and invalid value of each parameter, with a fixed seed. Fails
## on any failure of any check (fuzz/run.py, fuzz/schemathesis.toml). Part of make test.
fuzz-quick:
	$(CARGO) build -p todo-server
	python3 fuzz/run.py --quick

## The same, long, with the random phases too: 500 examples per operation, a new seed each
## time; the stateful phase (ids from earlier responses) runs after the others. Up to 30
## minutes per run, four runs (two phase groups, two tokens). Not part of make test.
fuzz:
	$(CARGO) build -p todo-server
	python3 fuzz/run.py

## The release binary run the way the container runs it: env only, PostgreSQL, SIGTERM drain.
smoke: release
	python3 docker/smoke.py

## Load benchmarks against the pgbench ceiling (bench/README.md); never part of make test.
bench: bench-tools release bench-lean
	python3 bench/run.py
	python3 bench/instructions.py
	python3 bench/events.py

## Records the functions that run at start-up and on the bench requests into
## crates/server/symbol-order.txt, the order the linker lays out the release binary's code in
## (crates/server/build.rs): run again after updating dependencies or rustc. Needs valgrind.
symbol-order: release
	python3 bench/symbol_order.py

## The lean reference server of the bench endpoints (bench/lean), its own workspace.
bench-lean:
	$(CARGO) build --release --manifest-path bench/lean/Cargo.toml --target-dir $(or $(CARGO_TARGET_DIR),target)/lean

## wrk (installed from Debian's packages when missing and root) and pgbench.
bench-tools:
	bash bench/tools.sh

## The Kubernetes manifests render (kustomize, offline).
k8s-check:
	@if command -v kubectl >/dev/null 2>&1; then \
		kubectl kustomize docker/k8s/base >/dev/null && \
		kubectl kustomize docker/k8s/overlays/production >/dev/null && \
		echo "k8s manifests render: ok"; \
	else \
		echo "kubectl not installed: skipping the manifest render check"; \
	fi

## Formatting, lints, the inward-only dependency rule and the manifests.
lint: check-deps k8s-check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Dependencies point inward only (docs/architecture.md): the HTTP adapter never depends on
## persistence, neither on the other's framework, the domain on no I/O crate, and the
## migrations on no crate of ours but the domain (for the rules the backfills share).
check-deps:
	@! $(CARGO) tree -p todo-http -e normal --prefix none | grep -q '^todo-persistence' || (echo "todo-http must not depend on todo-persistence" && exit 1)
	@! $(CARGO) tree -p todo-persistence -e normal --prefix none | grep -q '^actix-web' || (echo "todo-persistence must not depend on actix-web" && exit 1)
	@! $(CARGO) tree -p todo-domain -e normal --prefix none | grep -Eq '^(sea-orm|actix-web|tokio) ' || (echo "todo-domain must stay free of I/O crates" && exit 1)
	@! $(CARGO) tree -p todo-application -e normal --prefix none | grep -Eq '^(sea-orm|sqlx|actix-web|todo-persistence|todo-http) ' || (echo "todo-application must depend on no adapter or framework" && exit 1)
	@! $(CARGO) tree -p todo-webhooks -e normal --prefix none | grep -Eq '^(sea-orm|sqlx|actix-web|todo-persistence|todo-http) ' || (echo "todo-webhooks must depend on no other adapter" && exit 1)
	@bad=$$($(CARGO) tree -p todo-migration -e normal --prefix none | grep -o '^todo-[a-z-]*' | sort -u | grep -vx -e todo-migration -e todo-domain); \
		[ -z "$$bad" ] || (echo "todo-migration may depend on todo-domain only, not: $$bad" && exit 1)
	@echo "dependency direction: ok"

fmt:
	$(CARGO) fmt --all

## Apply migrations to DATABASE_URL (default: the dev SQLite file).
migrate:
	$(CARGO) run -p todo-server -- migrate

## The standalone migration CLI: make migrate-cli ARGS="status" (up, down, status, fresh).
migrate-cli:
	$(CARGO) run -p todo-migration -- $(ARGS)

## Print a dev token: make dev-token USER_ID=alice [ARGS="--admin"]
dev-token:
	@$(CARGO) run -q -p todo-server -- dev-token $(or $(USER_ID),alice) $(ARGS)

release:
	$(CARGO) build --release --locked -p todo-server

clean-data:
	rm -rf data
