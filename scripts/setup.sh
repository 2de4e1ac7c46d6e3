#!/usr/bin/env bash
# Idempotent set-up: a Python environment in .venv with SEC installed (editable), anvil and the
# web app's libraries from npm in node_modules/, and the OS's Chromium for the browser tests.
# Safe to run again: each step is skipped when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

# The web tests drive the Debian Chromium through Playwright (whose own browser download is not
# used): installed only when missing, and only where apt-get can (root on Debian/Ubuntu).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

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

npm_stamp=node_modules/.sec-installed
npm_want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/anvil ] || ! node_modules/.bin/anvil --version >/dev/null 2>&1 \
    || [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
    echo "setup: installing anvil, @openzeppelin/merkle-tree and the web app's libraries from npm"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$npm_want" > "$npm_stamp"
fi

# PostgreSQL (the gateway's optional store; its tests start a throwaway cluster): the OS
# package, installed once when initdb is missing.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "setup: installing PostgreSQL (apt-get install postgresql)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "setup: PostgreSQL is missing: install the postgresql package (as root)" >&2
    fi
fi
