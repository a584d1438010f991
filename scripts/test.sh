#!/usr/bin/env bash
# The test command: installs what is missing, lints (ruff), type-checks (mypy), then runs every
# test tier: unit, the sandbox on the embedded engine, conformance with Fabric's official Node
# libraries, and the `fabric` tier (which skips, saying why, without real Fabric binaries).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh"
export PATH="$root/.venv/bin:$PATH"
echo "[test] ruff"
ruff check .
echo "[test] mypy"
mypy
echo "[test] pytest"
exec pytest -ra "$@"
