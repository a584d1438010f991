"""The chaincode server's command line: its event-loop choice matches the engine's, and a bad
value is refused by name before anything listens."""

from __future__ import annotations

import logging

import pytest

from chaincode.runtime import cli

ARGS = [
    "serve",
    "chaincode.smoke:SmokeContract",
    "--address",
    "127.0.0.1:1",
    "--chaincode-id",
    "smoke:1",
]


def test_an_unknown_event_loop_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CBP_EVENT_LOOP", "trio")
    with caplog.at_level(logging.ERROR):
        assert cli.main(ARGS) == 2
    assert "CBP_EVENT_LOOP='trio': expected uvloop or asyncio" in caplog.text


@pytest.mark.parametrize(
    ("value", "loop"), [("asyncio", None), ("", "uvloop"), (" UVLOOP ", "uvloop")]
)
def test_the_loop_follows_cbp_event_loop(
    monkeypatch: pytest.MonkeyPatch, value: str, loop: str | None
) -> None:
    monkeypatch.setenv("CBP_EVENT_LOOP", value)
    factory = cli._loop_factory()
    assert (factory.__module__.split(".")[0] if factory else None) == loop
