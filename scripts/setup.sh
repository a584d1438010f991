#!/usr/bin/env bash
# Installs what the sandbox and its tests need into ./.venv (Python packages from PyPI), the
# conformance tests' npm packages (Fabric's official Node client and chaincode) and the browser
# tests' (axe-core). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing Python packages (pip install -e .[dev])"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
# Byte-code for our own packages (pip compiles only what it installs, not an editable checkout):
# with PYTHONDONTWRITEBYTECODE set, as on CI machines, every sandbox process would otherwise
# compile them from source at each start. Only files newer than their byte-code are compiled.
.venv/bin/python -m compileall -q cbp network chaincode gateway connector simulations >/dev/null
if [ "${CBP_SKIP_NPM:-0}" != "1" ]; then
  for d in tests/conformance/node tests/conformance/node-chaincode tests/browser; do
    if [ -f "$d/package.json" ] && { [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules" ]; }; then
      echo "[setup] installing npm packages in $d"
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
    fi
  done
fi
