# The two commands a newcomer needs (see README): `make demo` and `make test`.
# Both run bin/setup first, which installs whatever is missing (Debian packages, the pinned
# Node 24 runtime, npm packages) and is quick when nothing is.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.PHONY: setup demo test typecheck bench build

setup:
	@bin/setup

demo: setup
	@bin/demo

typecheck: setup
	@. bin/env.sh && tsc -p tsconfig.json

# The agent as releases carry it (JavaScript, type-stripped; `thea release pack` does this itself)
# in build/, runnable as build/bin/thea; development and the tests run the .ts sources directly.
build: setup
	@bin/thea build --out build

test: typecheck
	@. bin/env.sh && vitest run

bench: setup
	@. bin/env.sh && scratch=$$(mktemp -d /tmp/thea-bench-XXXXXX) && trap 'rm -rf "$$scratch"' EXIT && \
	for script in bench/*.ts; do echo "== $$script"; TMPDIR=$$scratch node "$$script"; done
