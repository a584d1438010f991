"""The `browser` tier: the dashboard in headless Chromium against a running sandbox.

One sandbox for the tier, started as a user starts it (`Sandbox.up`, the BNA's admissions, then
one connector process per organisation, the auditor's included, on SQLite), on ports of its own:
CBP_BROWSER_TEST_PORT_OFFSET, default CBP_TEST_PORT_OFFSET + 50, so that it never meets the
sandbox tier's in the same run. Playwright's Python package drives Debian's Chromium
(`/usr/bin/chromium`, or CBP_CHROMIUM); no browser is ever downloaded. axe-core comes from npm
(`tests/browser/package.json`, installed by scripts/setup.sh) and runs inside each page.

Screenshots of the main pages go to CBP_SCREENSHOT_DIR when it is set (the README's
`docs/dashboard/` is made that way), otherwise to the test run's temporary folder.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "sandbox"))

from connectors import Connectors  # noqa: E402

from connector.bootstrap import admit_all  # noqa: E402
from network.paths import sandbox_paths  # noqa: E402
from network.sandbox import Sandbox  # noqa: E402
from network.topology import load_topology  # noqa: E402

log = logging.getLogger("browser-fixture")
ORGS = ("tso", "areti", "bsp1", "bsp2", "regulator", "infraop", "evusers")
CHROMIUM = os.environ.get("CBP_CHROMIUM", "/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
# the flags that let Chromium run headless as root on a machine with a closed network
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connectors]:
    """A sandbox with every organisation's connector running."""
    home = tmp_path_factory.mktemp("cbp-browser-home")
    base = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000"))
    offset = int(os.environ.get("CBP_BROWSER_TEST_PORT_OFFSET", str(base + 50)))
    sandbox = Sandbox(load_topology(port_offset=offset), sandbox_paths(home), say=log.info)
    sandbox.up("embedded")
    running = None
    try:
        asyncio.run(admit_all(sandbox.paths.connection_profile))
        running = Connectors(sandbox, tmp_path_factory.mktemp("browser-connectors"), None)
        running.start(*ORGS)
        yield running
    finally:
        if running is not None:
            running.stop_all()
        sandbox.down()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium for one test module. Playwright's sync API keeps an event loop running in this
    thread while it lives, so it is stopped after each module: the tiers that follow in the same
    run (the sandbox tier's fixtures call asyncio.run) find no loop running."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests drive Debian's Chromium at {CHROMIUM}, which is missing: "
            "scripts/test.sh installs it (apt-get install chromium), or set CBP_CHROMIUM"
        )
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/setup.sh (npm ci in tests/browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("CBP_SCREENSHOT_DIR")
    folder = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def logins(web: Connectors) -> dict[str, str]:
    out: dict[str, str] = {}
    for org in ORGS:
        out.update(json.loads((web.home / "connectors" / org / "demo-logins.json").read_text()))
    return out
