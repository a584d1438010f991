#!/usr/bin/env bash
# The test command: installs what is missing, lints and checks formatting (ruff), type-checks
# (mypy), then runs every test tier: unit, the CLI, the sandbox on the embedded engine,
# conformance with Fabric's official Node libraries, the dashboard in a real browser (Debian's
# Chromium, driven by Playwright), and the `fabric` tier (which skips, saying why, without real
# Fabric binaries).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh"
# Debian packages the tests start themselves: PostgreSQL's server (the connector's store is
# tested on a throw-away cluster as well as on SQLite), and Chromium (the dashboard's browser
# tests drive Debian's, never a browser that Playwright would download).
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  echo "[test] installing Debian's postgresql (server binaries for the connector's tests)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
if [ ! -x "${CBP_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "[test] installing Debian's chromium (the browser of the dashboard's tests)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
export PATH="$root/.venv/bin:$PATH"
echo "[test] ruff"
ruff check .
ruff format --check . || { echo "[test] run \`ruff format .\` to format the files above" >&2; exit 1; }
echo "[test] mypy"
mypy
echo "[test] pytest"
exec pytest -ra "$@"
