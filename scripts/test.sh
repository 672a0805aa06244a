#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (nasm for the
# build, a Python virtual environment with the pinned, hash-checked packages the
# cross-checks compare against), then `cargo test --release`. ONNX Runtime and the
# catalogue models are fetched by anylabel itself into target/tmp/anylabel-home.
# Extra arguments go to cargo test, e.g. `scripts/test.sh --test infer`.
set -euo pipefail
cd "$(dirname "$0")/.."
PREREQS_FOR_TESTS=1 . scripts/prereqs.sh

venv=target/test-python
stamp="$venv/.requirements.sha256"
want=$(cat tests/python/requirements.txt tests/python/requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setting up $venv for the Python cross-checks" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        --only-binary=:all: -r tests/python/requirements.txt
    # Packages whose declared dependencies are heavier than what the tests use (see pin.py).
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        --only-binary=:all: --no-deps -r tests/python/requirements-nodeps.txt
    echo "$want" > "$stamp"
fi
export ANYLABEL_TEST_PYTHON="$PWD/$venv/bin/python"

exec cargo test --release $CARGO_FEATURES "$@"
