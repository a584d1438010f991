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
  # pip is quiet for the ~30-60 s a first install takes: say what it is on every few seconds
  log=.venv/pip-install.log
  echo "[setup] installing Python packages into ./.venv (grpcio, protobuf, cryptography, pydantic," \
    "fastapi...; a first install takes about a minute; log $log)"
  { .venv/bin/python -m pip install --progress-bar off --upgrade pip \
      && .venv/bin/python -m pip install --progress-bar off -e '.[dev]'; } >"$log" 2>&1 &
  pip_pid=$!
  trap 'kill "$pip_pid" 2>/dev/null || true' EXIT
  started=$SECONDS
  while kill -0 "$pip_pid" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - started) % 5 == 0 )); then
      now=$(grep -E '^(Collecting|Installing collected|Building)' "$log" | tail -n 1 | cut -c1-80 || true)
      echo "[setup]   $((SECONDS - started)) s: ${now:-resolving dependencies}"
    fi
  done
  if ! wait "$pip_pid"; then
    echo "[setup] pip install failed; the end of $log:" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
  trap - EXIT
  echo "[setup] Python packages installed in $((SECONDS - started)) s"
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
