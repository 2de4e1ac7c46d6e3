#!/usr/bin/env bash
# Idempotent set-up: a Python environment in .venv with SEC installed (editable), anvil and the
# web app's libraries from npm in node_modules/, and the OS's Chromium for the browser tests.
# Safe to run again: each step is skipped when already up to date.
# Quiet: pip's and npm's output goes to .venv/setup.log; a failure shows its last lines and
# the log's path.
set -euo pipefail
cd "$(dirname "$0")/.."

log=.venv/setup.log

# Runs "$@" with its output in the log (started afresh by the first step that runs); on
# failure shows the log's tail and exits.
fresh_log=1
quietly() {
    if [ "$fresh_log" = 1 ]; then
        : >"$log"
        fresh_log=0
    fi
    if ! "$@" >>"$log" 2>&1; then
        echo "setup: failed: $*" >&2
        tail -n 25 "$log" >&2
        echo "setup: the whole output is in $log" >&2
        exit 1
    fi
}

# The web tests drive the Debian Chromium through Playwright (whose own browser download is not
# used): installed only when missing, and only where apt-get can (root on Debian/Ubuntu).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium (apt-get)"
    mkdir -p .venv
    quietly apt-get update -qq
    DEBIAN_FRONTEND=noninteractive quietly apt-get install -y -qq chromium
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
    quietly .venv/bin/python -m pip install --upgrade pip
    quietly .venv/bin/python -m pip install -e '.[test]'
    echo "$want" > "$stamp"
    echo "setup: Python packages installed"
fi

npm_stamp=node_modules/.sec-installed
npm_want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/anvil ] || ! node_modules/.bin/anvil --version >/dev/null 2>&1 \
    || [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
    echo "setup: installing anvil, @openzeppelin/merkle-tree and the web app's libraries from npm"
    quietly npm ci --no-audit --no-fund --loglevel=error
    echo "$npm_want" > "$npm_stamp"
    echo "setup: npm packages installed"
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
