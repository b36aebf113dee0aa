# dentsynth: the two commands a fresh machine needs are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: setup test demo bench clean-local

setup:
	@./scripts/setup.sh

test: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) test --locked

demo: setup
	$(CARGO) build --locked --release
	./target/release/dentsynth generate
	@echo "demo database ready: psql \"$$(./target/release/dentsynth local url)\"  (or: ./target/release/dentsynth local psql)"

bench: setup
	$(CARGO) build --locked --release
	./scripts/bench.sh

clean-local:
	-./target/release/dentsynth local stop
	rm -rf .dentsynth
