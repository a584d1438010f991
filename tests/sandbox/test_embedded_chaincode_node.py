"""The embedded peer's chaincode handler against Fabric's official Node chaincode (CCaaS).

The Node project lives in tests/conformance/node-chaincode (`npm ci` there first); these tests
skip when its node_modules are missing. The simulator is an in-memory fake, so what is checked
is the protocol: every shim call answered as Fabric's peer answers it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from network.embedded.chaincode_handler import TransactionContext
from network.embedded.chaincode_support import ChaincodeExecutionError, ChaincodeSupport
from network.embedded.history import HistoryEntry
from network.embedded.protoutil import create_proposal, serialized_identity
from network.embedded.tls import ChaincodeConnection
from network.identities import CryptoLayout, generate_crypto
from network.topology import load_topology

NODE_CC = Path(__file__).resolve().parents[1] / "conformance" / "node-chaincode"
CLI = NODE_CC / "node_modules" / ".bin" / "fabric-chaincode-node"

pytestmark = pytest.mark.skipif(
    not CLI.exists() or shutil.which("node") is None,
    reason="Node chaincode not installed: run `npm ci` in tests/conformance/node-chaincode",
)


class FakeSimulator:
    """An in-memory stand-in for rwset.TxSimulator, recording what the chaincode did."""

    def __init__(self, state: dict[str, bytes] | None = None) -> None:
        self.state: dict[tuple[str, str], bytes] = {
            ("conformance", k): v for k, v in (state or {}).items()
        }
        self.private: dict[tuple[str, str, str], bytes] = {}
        self.metadata: dict[tuple[str, str], dict[str, bytes]] = {}
        self.writes: list[tuple[str, str, bytes | None]] = []
        self.range_calls: list[tuple[str, str, int | None]] = []

    def get_state(self, ns: str, key: str) -> bytes | None:
        return self.state.get((ns, key))

    def get_states(self, ns: str, keys: list[str]) -> list[bytes | None]:
        return [self.get_state(ns, k) for k in keys]

    def put_state(self, ns: str, key: str, value: bytes) -> None:
        self.writes.append((ns, key, value))
        self.state[(ns, key)] = value

    def del_state(self, ns: str, key: str) -> None:
        self.writes.append((ns, key, None))
        self.state.pop((ns, key), None)

    def get_state_range(
        self, ns: str, start: str, end: str, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        self.range_calls.append((start, end, limit))
        rows = sorted(
            (k, v)
            for (n, k), v in self.state.items()
            if n == ns and k.encode() >= start.encode() and (not end or k.encode() < end.encode())
        )
        return rows[:limit] if limit else rows

    def get_state_metadata(self, ns: str, key: str) -> dict[str, bytes]:
        return dict(self.metadata.get((ns, key), {}))

    def set_state_metadata(self, ns: str, key: str, metadata: dict[str, bytes]) -> None:
        self.metadata[(ns, key)] = dict(metadata)

    def get_private_data(self, ns: str, coll: str, key: str) -> bytes | None:
        return self.private.get((ns, coll, key))

    def put_private_data(self, ns: str, coll: str, key: str, value: bytes) -> None:
        self.private[(ns, coll, key)] = value

    def del_private_data(self, ns: str, coll: str, key: str) -> None:
        self.private.pop((ns, coll, key), None)

    def get_private_data_hash(self, ns: str, coll: str, key: str) -> bytes | None:
        v = self.private.get((ns, coll, key))
        return hashlib.sha256(v).digest() if v is not None else None

    def get_private_data_range(
        self, ns: str, coll: str, start: str, end: str
    ) -> list[tuple[str, bytes]]:
        return sorted((k, v) for (n, c, k), v in self.private.items() if n == ns and c == coll)

    def purge_private_data(self, ns: str, coll: str, key: str) -> None:
        self.private.pop((ns, coll, key), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Node chaincode exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"Node chaincode did not listen on {port} within {timeout}s")


def _start_node(port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(CLI),
            "server",
            "--chaincode-address",
            f"127.0.0.1:{port}",
            "--chaincode-id",
            "conformance:1",
            *extra,
        ],
        cwd=NODE_CC,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CORE_CHAINCODE_LOGGING_LEVEL": "warning"},
    )
    try:
        _wait_port(port, proc)
    except Exception:
        proc.kill()
        proc.wait()
        raise
    return proc


@pytest.fixture(scope="module")
def node_plain() -> Iterator[ChaincodeConnection]:
    port = _free_port()
    proc = _start_node(port, [])
    yield ChaincodeConnection(address=f"127.0.0.1:{port}")
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def crypto(tmp_path_factory: pytest.TempPathFactory) -> CryptoLayout:
    return generate_crypto(load_topology(port_offset=0), tmp_path_factory.mktemp("crypto"))


@pytest.fixture(scope="module")
def node_tls(crypto: CryptoLayout) -> Iterator[ChaincodeConnection]:
    d = crypto.chaincode_tls("smoke")
    port = _free_port()
    proc = _start_node(
        port,
        [
            "--chaincode-tls-cert-file",
            str(d / "server.crt"),
            "--chaincode-tls-key-file",
            str(d / "server.key"),
            "--chaincode-tls-client-cacert-file",
            str(d / "ca.crt"),
        ],
    )
    raw = {
        "address": f"127.0.0.1:{port}",
        "dial_timeout": "10s",
        "tls_required": True,
        "client_auth_required": True,
        "root_cert": (d / "ca.crt").read_text(),
        "client_cert": (d / "client.crt").read_text(),
        "client_key": (d / "client.key").read_text(),
    }
    yield ChaincodeConnection.from_dict(raw)
    proc.terminate()
    proc.wait(timeout=10)


def _input(*args: str) -> chaincode_pb2.ChaincodeInput:
    return chaincode_pb2.ChaincodeInput(args=[a.encode() for a in args])


_CREATOR: bytes = b""


@pytest.fixture(scope="module", autouse=True)
def creator(crypto: CryptoLayout) -> bytes:
    """The shim parses the proposal's creator certificate, so it must be a real one."""
    global _CREATOR
    cert = crypto.signcert(crypto.user_dir("bsp1", "User1")).read_bytes()
    _CREATOR = serialized_identity("BSP1MSP", cert)
    return _CREATOR


def _signed_proposal(
    args: list[bytes], transient: dict[str, bytes] | None
) -> tuple[proposal_pb2.SignedProposal, str]:
    prop, txid = create_proposal(_CREATOR, "ch1", "conformance", args, transient=transient)
    return proposal_pb2.SignedProposal(
        proposal_bytes=prop.SerializeToString(), signature=b"sig"
    ), txid


class Runner:
    def __init__(
        self, conn: ChaincodeConnection, history: list[HistoryEntry] | None = None
    ) -> None:
        self.support = ChaincodeSupport("peer0.test", {"conformance": conn}, execute_timeout=5.0)
        self.history = history or []

    async def run(
        self, sim: FakeSimulator, *args: str, transient: dict[str, bytes] | None = None
    ) -> tuple[int, str, str]:
        signed, txid = _signed_proposal([a.encode() for a in args], transient)
        ctx = TransactionContext(
            channel_id="ch1",
            txid=txid,
            namespace="conformance",
            simulator=sim,
            signed_proposal=signed,
            history=lambda ns, key: [e for e in self.history],
        )
        resp, event = await self.support.execute(ctx, _input(*args))
        text = resp.payload.decode() if resp.status < 400 else resp.message
        return resp.status, text, (event.event_name if event else "")


def test_handler_node_put_get_and_error(node_plain: ChaincodeConnection) -> None:
    async def main() -> None:
        r = Runner(node_plain)
        sim = FakeSimulator()
        status, payload, _ = await r.run(sim, "put", "k1", "v1")
        assert status == 200
        assert sim.writes == [("conformance", "k1", b"v1")]
        assert (await r.run(sim, "get", "k1"))[1] == "v1"
        status, _, _ = await r.run(sim, "del", "k1")
        assert status == 200 and sim.writes[-1] == ("conformance", "k1", None)
        assert await r.run(sim, "fail", "no such POD") == (500, "no such POD", "")
        status, message, _ = await r.run(sim, "nope")
        assert status == 500 and "nope" in message
        await r.support.stop()

    asyncio.run(main())


def test_handler_node_range_pagination_and_composite(node_plain: ChaincodeConnection) -> None:
    async def main() -> None:
        r = Runner(node_plain)
        sim = FakeSimulator({f"k{i:03d}": f"v{i}".encode() for i in range(250)})
        st, payload, _ = await r.run(sim, "range", "k000", "k999")
        assert st == 200, payload
        rows = json.loads(payload)
        # more than one batch of 100 crosses QUERY_STATE_NEXT
        assert [x["key"] for x in rows] == [f"k{i:03d}" for i in range(250)]
        _, payload, _ = await r.run(sim, "rangePage", "k000", "k999", "10", "")
        page = json.loads(payload)
        assert [x["key"] for x in page["results"]] == [f"k{i:03d}" for i in range(10)]
        assert page["fetched"] == 10 and page["bookmark"] == "k010"
        _, payload, _ = await r.run(sim, "rangePage", "k000", "k999", "10", page["bookmark"])
        assert json.loads(payload)["results"][0]["key"] == "k010"
        _, payload, _ = await r.run(sim, "rangePage", "k245", "k999", "10", "")
        last = json.loads(payload)
        assert last["fetched"] == 5 and last["bookmark"] == ""
        await r.run(sim, "putComposite", "pod", "bsp1", "a", "x")
        await r.run(sim, "putComposite", "pod", "bsp1", "b", "y")
        await r.run(sim, "putComposite", "pod", "bsp2", "c", "z")
        _, payload, _ = await r.run(sim, "partial", "pod", "bsp1")
        assert json.loads(payload) == [
            {"attributes": ["bsp1", "a"], "value": "x"},
            {"attributes": ["bsp1", "b"], "value": "y"},
        ]
        await r.support.stop()

    asyncio.run(main())


def test_handler_node_history_event_metadata_private_rich(node_plain: ChaincodeConnection) -> None:
    async def main() -> None:
        r = Runner(
            node_plain,
            [
                HistoryEntry("t1", b"a", (1700000000, 500_000_000), False),
                HistoryEntry("t2", b"", (1700000001, 0), True),
            ],
        )
        sim = FakeSimulator()
        _, payload, _ = await r.run(sim, "history", "k")
        assert json.loads(payload) == [
            {"txId": "t1", "value": "a", "isDelete": False},
            {"txId": "t2", "value": "", "isDelete": True},
        ]
        status, _, event = await r.run(sim, "event", "PodRegistered", "{}")
        assert status == 200 and event == "PodRegistered"
        await r.run(sim, "setEndorsementPolicy", "k", "0a0b")
        assert sim.metadata[("conformance", "k")] == {"VALIDATION_PARAMETER": b"\x0a\x0b"}
        assert (await r.run(sim, "getEndorsementPolicy", "k"))[1] == "0a0b"
        status, _, _ = await r.run(
            sim, "putPrivate", "tsoPrivate", "p1", transient={"value": b"secret"}
        )
        assert status == 200 and sim.private[("conformance", "tsoPrivate", "p1")] == b"secret"
        assert (await r.run(sim, "getPrivate", "tsoPrivate", "p1"))[1] == "secret"
        assert (await r.run(sim, "privateHash", "tsoPrivate", "p1"))[1] == hashlib.sha256(
            b"secret"
        ).hexdigest()
        status, payload, _ = await r.run(sim, "richQuery", '{"selector":{}}')
        assert status == 500 and "ExecuteQuery not supported for leveldb" in payload
        await r.support.stop()

    asyncio.run(main())


def test_handler_node_concurrent_and_timeout(node_plain: ChaincodeConnection) -> None:
    async def main() -> None:
        r = Runner(node_plain)
        sims = [FakeSimulator() for _ in range(20)]
        results = await asyncio.gather(
            *(r.run(s, "put", f"k{i}", f"v{i}") for i, s in enumerate(sims))
        )
        assert all(st == 200 for st, _, _ in results)
        assert [s.writes for s in sims] == [
            [("conformance", f"k{i}", f"v{i}".encode())] for i in range(20)
        ]
        r.support.execute_timeout = 0.3
        with pytest.raises(
            ChaincodeExecutionError, match="timeout expired while executing transaction"
        ):
            await r.run(FakeSimulator(), "sleep", "2000")
        await r.support.stop()

    asyncio.run(main())


def test_handler_node_large_message(node_plain: ChaincodeConnection) -> None:
    async def main() -> None:
        r = Runner(node_plain)
        sim = FakeSimulator()
        big = "x" * (5 * 1024 * 1024)
        status, _, _ = await r.run(sim, "put", "big", big)
        assert status == 200 and len(sim.state[("conformance", "big")]) == len(big)
        await r.support.stop()

    asyncio.run(main())


def test_handler_node_tls_client_auth(node_tls: ChaincodeConnection) -> None:
    async def main() -> None:
        r = Runner(node_tls)
        sim = FakeSimulator()
        assert (await r.run(sim, "put", "k", "v"))[0] == 200
        assert r.support._handlers["conformance"].chaincode_id == "conformance:1"
        await r.support.stop()

    asyncio.run(main())


def test_handler_unreachable_chaincode_is_named() -> None:
    async def main() -> None:
        conn = ChaincodeConnection(address=f"127.0.0.1:{_free_port()}", dial_timeout=0.5)
        r = Runner(conn)
        with pytest.raises(ChaincodeExecutionError, match="could not launch chaincode conformance"):
            await r.run(FakeSimulator(), "get", "k")

    asyncio.run(main())
