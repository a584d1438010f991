"""Checks made once, before any test runs: every port offset the tiers will use fits.

The sandbox tier runs its session sandbox on CBP_TEST_PORT_OFFSET (default 1000) and private
sandboxes beside it, shifted from it by SANDBOX_SHIFTS (the CLI tier's at +250 and +350); the fabric tier runs on
CBP_FABRIC_TEST_PORT_OFFSET (default 500) and, for the engines-agree test, that plus
FABRIC_SHIFTS. An offset that puts any of them out of range is one usage error naming the
variable, instead of a failure in every test that starts a sandbox.
"""

from __future__ import annotations

import os

import pytest

from network.topology import TopologyError, load_topology

SANDBOX_SHIFTS = (-40, 0, 100, 200, 250, 300, 350, 400)
FABRIC_SHIFTS = (0, 2500)


def _check(variable: str, default: str, shifts: tuple[int, ...]) -> None:
    raw = os.environ.get(variable, default)
    try:
        base = int(raw)
    except ValueError:
        raise pytest.UsageError(f"{variable}={raw!r} is not a whole number") from None
    for shift in shifts:
        try:
            load_topology(port_offset=base + shift)
        except TopologyError as exc:
            raise pytest.UsageError(
                f"{variable}={base}: the tests also run sandboxes at offsets "
                f"{', '.join(f'{base + s}' for s in shifts)}, and {base + shift} does not fit: {exc}"
            ) from None


def pytest_configure(config: pytest.Config) -> None:
    _check("CBP_TEST_PORT_OFFSET", "1000", SANDBOX_SHIFTS)
    _check("CBP_FABRIC_TEST_PORT_OFFSET", "500", FABRIC_SHIFTS)
