"""The engine's event-loop choice: uvloop by default, asyncio on request, a clear refusal else."""

from __future__ import annotations

import asyncio

import pytest

from network.embedded import eventloop


def test_uvloop_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.LOOP_ENV, raising=False)
    assert eventloop.loop_name() == "uvloop"

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__.split(".")[0]

    assert eventloop.run(which()) == "uvloop"


def test_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.LOOP_ENV, "asyncio")

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__.split(".")[0]

    assert eventloop.run(which()) == "asyncio"


def test_unknown_loop_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.LOOP_ENV, "trio")
    with pytest.raises(ValueError, match="CBP_EVENT_LOOP='trio': expected uvloop or asyncio"):
        eventloop.loop_name()
