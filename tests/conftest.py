"""Checks made once, before any test runs: every port offset the tiers will use fits.

Every tier shifts its sandboxes' ports from CBP_TEST_PORT_OFFSET (default 1000), each by an
offset of its own so that none meets another's ports (SANDBOX_SHIFTS): the sandbox tier's
session sandbox +0, the crash test -40, the browser tier +50, the events test +100, the CLI
tier +150 and +450, conformance +200, the fabric tier's embedded sandboxes +250 and its real
network +350 (or CBP_FABRIC_TEST_PORT_OFFSET), the network CLI tests +300 and +400, the faults
tier +25 and +65 and the fabric tier's faults network +465 (clear of every sandbox that lives
as long as they do, connectors' ports counted too). An offset that puts any of them out of
range is one usage error naming the variable, instead of a failure in every test that starts
a sandbox.
"""

from __future__ import annotations

import os

import pytest

from network.topology import TopologyError, load_topology

SANDBOX_SHIFTS = (-40, 0, 25, 50, 65, 100, 150, 200, 250, 300, 350, 400, 450, 465)


def _check(variable: str, raw: str, shifts: tuple[int, ...]) -> None:
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
    _check("CBP_TEST_PORT_OFFSET", os.environ.get("CBP_TEST_PORT_OFFSET", "1000"), SANDBOX_SHIFTS)
    fabric = os.environ.get("CBP_FABRIC_TEST_PORT_OFFSET")
    if fabric is not None:
        _check("CBP_FABRIC_TEST_PORT_OFFSET", fabric, (0,))
