#!/usr/bin/env bash
# Idempotent set-up: a Python environment in .venv with SEC installed (editable), and anvil
# from npm in node_modules/. Safe to run again: each step is skipped when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.sec-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing Python packages into .venv (first run takes a few minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    echo "$want" > "$stamp"
fi

if [ ! -x node_modules/.bin/anvil ] || ! node_modules/.bin/anvil --version >/dev/null 2>&1; then
    echo "setup: installing anvil (@foundry-rs/anvil) from npm"
    npm install --no-audit --no-fund --loglevel=error
fi
