# Targets mirror CI (.ci/run). `make check` is what to run before pushing.
.PHONY: check fmt lint test schema test-postgres serve bench-recompute

check: fmt lint schema test

fmt:
	cargo fmt --all -- --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

test:
	cargo test --workspace

# Regenerate the checked-in SDL (a test fails when it drifts).
schema:
	cargo run -q -- schema > schema.graphql

# Run the suite against a PostgreSQL server: TEST_DATABASE_URL=postgres://user@host:port/db make test-postgres
test-postgres:
	test -n "$(TEST_DATABASE_URL)" && cargo test --workspace

serve:
	cargo run --release -- serve --demo

bench-recompute:
	cargo bench --bench recompute
