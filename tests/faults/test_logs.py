"""What a hostile client can write into the sandbox's logs: no forged line, no raw control
byte, no line longer than the cap, and not a line per bad request."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from faultbox import FaultSandbox

from cbp.faults.wire import endpoints, open_channel
from gateway import GatewayError, from_profile

pytestmark = pytest.mark.timeout(300)
FORGED = "2026-12-07 10:00:00,000 INFO chaincode.registry.pods: POD IT002E99999999 validated"


def test_a_forged_line_in_an_argument_stays_inside_its_line(fault_sandbox: FaultSandbox) -> None:
    log = fault_sandbox.paths.log("chaincode-smoke")
    start = log.stat().st_size
    with from_profile("bsp1", "User1", fault_sandbox.profile) as gw:
        smoke = gw.get_network("bsp1-channel").get_contract("smoke")
        for text in (f"x\n{FORGED}", "nul\x00byte", "y" * 20000):
            with pytest.raises(GatewayError):
                smoke.submit_transaction("Fail", text)
    written = log.read_bytes()[start:]
    lines = written.decode().splitlines()
    assert not [ln for ln in lines if ln.startswith(FORGED[:20])], "a forged line was written"
    assert b"\x00" not in written
    assert "\\n" + FORGED[:10] in written.decode() and "nul\\x00byte" in written.decode()
    assert max(len(ln) for ln in lines) < 2200


def test_undecodable_requests_do_not_grow_the_engine_logs(fault_sandbox: FaultSandbox) -> None:
    # the gateway serves in its peer's process; the core serves the orderer
    logs = [fault_sandbox.paths.log(n) for n in ("peer0.bsphost.cbp.local", "embedded-engine")]
    start = [log.stat().st_size for log in logs]

    async def spam(endpoint: str, method: str) -> list[str]:
        channel = open_channel(endpoints(fault_sandbox.profile)[endpoint])
        codes = []
        try:
            for _ in range(100):
                try:
                    await channel.unary_unary(method)(b"\xff", timeout=5)
                except grpc.aio.AioRpcError as exc:
                    codes.append(exc.code().name)
        finally:
            await channel.close()
        return codes

    assert set(asyncio.run(spam("peer", "/gateway.Gateway/Evaluate"))) == {"INTERNAL"}
    for log, before in zip(logs, start, strict=True):
        grown = log.stat().st_size - before
        assert grown < 1000, f"100 one-byte requests wrote {grown} bytes to {log.name}"


def test_every_key_file_is_owner_only_and_no_log_holds_key_material(
    fault_sandbox: FaultSandbox,
) -> None:
    home = fault_sandbox.paths.home
    keys = [
        p
        for p in home.rglob("*")
        if p.is_file()
        and (
            p.name in ("priv_sk", "server.key", "client.key", "token.key")
            or p.parent.name == "keystore"
        )
    ]
    assert len(keys) > 50
    loose = [str(p) for p in keys if p.stat().st_mode & 0o077]
    assert not loose, loose
    for log in fault_sandbox.paths.logs.glob("*.log*"):
        text = log.read_bytes()
        assert b"PRIVATE KEY" not in text, log.name
