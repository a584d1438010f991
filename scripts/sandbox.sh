#!/usr/bin/env bash
# The sandbox from one command: installs what is missing, then `cbp network up` (embedded engine
# by default; pass --engine fabric for real Fabric binaries) and one CBP Connector per
# organisation (`cbp connector up`). Other actions: status, down, reset.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"  # the sandbox's folder is ./.sandbox of the checkout unless CBP_HOME says otherwise
CBP_SKIP_NPM=1 "$root/scripts/setup.sh"
action="up"
case "${1:-}" in up|status|down|reset) action="$1"; shift ;; esac
if [ "$action" = "up" ]; then
  "$root/.venv/bin/cbp" network up "$@"
  # one CBP Connector per organisation, with its URL and demo log-ins
  exec "$root/.venv/bin/cbp" connector up
fi
exec "$root/.venv/bin/cbp" network "$action" "$@"
