"""`cbp bench floor`: the CPU a committed transaction cannot go below on this machine.

What every engine must do for one committed `smoke` Put of the ledger bench (the gateway's peer
endorses alone, the channel's three peers commit, one orderer), each measured here on a real
transaction's bytes:

- signatures: 4 ECDSA P-256 verifications (the proposal at the endorser, the envelope at the
  orderer's Writers check, the commit-status request at the gateway, the endorsement at
  validation; Fabric verifies the creator's envelope signature again at validation, an engine
  that remembers it pays once), 1 signature (the endorsement) and the block's, shared by its
  transactions;
- hashing: the transaction id (nonce + creator), the block's data hash over every envelope, the
  block header hash each peer checks, and each peer's commit hash over the block's updates;
- state writes: per peer, the key's row, its history row and the tx index row, in one SQLite
  transaction per block (the engine's store), and the block appended to each peer's block
  file and the orderer's;
- the protocol's messages, as a Python peer must exchange them with grpc.aio on the engine's
  event loop: 3 unary calls served (Endorse, Submit, CommitStatus) and 2 round trips on the
  chaincode stream.

Each is timed in CPU seconds (`time.process_time`) over enough repetitions to be stable; the gRPC
figures are this process's CPU with a partner process at the other end. The sum without the
gRPC lines is the floor of the work itself; with them, the floor of a Python engine speaking
Fabric's protocols.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import multiprocessing
import os
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from network.embedded.eventloop import run as run_loop  # the engine's loop (uvloop)

BLOCK_TXS = 500  # the sandbox's MaxMessageCount
PEERS = 3  # the peers of the bench's channel, each committing every block


@dataclass(frozen=True)
class Item:
    group: str
    what: str
    per_tx: float  # how many per committed transaction
    each_us: float  # CPU microseconds each

    @property
    def us_per_tx(self) -> float:
        return self.per_tx * self.each_us


def _cpu_us(fn: Callable[[], object], n: int) -> float:
    fn()  # warm
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def _identity() -> tuple[Any, bytes, bytes]:
    """A P-256 key, its self-signed certificate (PEM) and the SerializedIdentity bytes, the
    shapes cryptogen gives a Fabric user."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from fabric_protos.msp import identities_pb2

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bsp1.cbp.local"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"),
            x509.NameAttribute(NameOID.COMMON_NAME, "User1@bsp1.cbp.local"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    ident = identities_pb2.SerializedIdentity(mspid="BSP1MSP", id_bytes=pem).SerializeToString()
    return key, pem, ident


@dataclass
class _Sample:
    proposal: bytes
    envelope: bytes
    payload: bytes
    prp_endorser: bytes
    status_request: bytes
    nonce_creator: bytes
    key_value: tuple[str, bytes]


def _sample(key: Any, ident: bytes) -> _Sample:
    """One `smoke` Put as the client and the gateway's peer build it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from fabric_protos.common import common_pb2
    from fabric_protos.gateway import gateway_pb2
    from fabric_protos.ledger.rwset import rwset_pb2
    from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
    from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2

    from network.embedded import protoutil

    def sign(data: bytes) -> bytes:
        return bytes(key.sign(data, ec.ECDSA(hashes.SHA256())))

    k, v = "bench-1-000001-" + "0" * 12, b"v" * 40
    prop, txid = protoutil.create_proposal(ident, "bsp1-channel", "smoke", [b"Put", k.encode(), v])
    kv = kv_rwset_pb2.KVRWSet(writes=[kv_rwset_pb2.KVWrite(key=k, value=v)])
    lifecycle = kv_rwset_pb2.KVRWSet(
        reads=[
            kv_rwset_pb2.KVRead(
                key="namespaces/fields/smoke/Sequence",
                version=kv_rwset_pb2.Version(block_num=3, tx_num=0),
            )
        ]
    )
    rws = rwset_pb2.TxReadWriteSet(
        data_model=rwset_pb2.TxReadWriteSet.KV,
        ns_rwset=[
            rwset_pb2.NsReadWriteSet(namespace="_lifecycle", rwset=lifecycle.SerializeToString()),
            rwset_pb2.NsReadWriteSet(namespace="smoke", rwset=kv.SerializeToString()),
        ],
    )
    action = proposal_pb2.ChaincodeAction(
        results=rws.SerializeToString(),
        response=proposal_response_pb2.Response(status=200),
        chaincode_id=chaincode_pb2.ChaincodeID(name="smoke", version="1.0"),
    )
    hdr = common_pb2.Header.FromString(prop.header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(prop.payload)
    prp = protoutil.create_proposal_response_payload(protoutil.proposal_hash(hdr, cpp), action)
    endorsement = proposal_response_pb2.Endorsement(endorser=ident, signature=sign(prp + ident))
    response = proposal_response_pb2.ProposalResponse(
        version=1, payload=prp, endorsement=endorsement, response=action.response
    )
    env = protoutil.create_signed_tx(prop, [response], sign)
    shdr = common_pb2.SignatureHeader.FromString(hdr.signature_header)
    request = gateway_pb2.CommitStatusRequest(
        channel_id="bsp1-channel", transaction_id=txid, identity=ident
    ).SerializeToString()
    return _Sample(
        proposal=prop.SerializeToString(),
        envelope=env.SerializeToString(),
        payload=env.payload,
        prp_endorser=prp + ident,
        status_request=request,
        nonce_creator=shdr.nonce + shdr.creator,
        key_value=(k, v),
    )


def _signatures(key: Any, s: _Sample, n: int) -> list[Item]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    alg = ec.ECDSA(hashes.SHA256())
    pub = key.public_key()
    out = []
    for what, data in (
        ("verify: the proposal (endorser)", s.proposal),
        ("verify: the envelope (orderer, Writers)", s.payload),
        ("verify: the commit-status request (gateway)", s.status_request),
        ("verify: the endorsement (validation)", s.prp_endorser),
    ):
        sig = key.sign(data, alg)

        def verify(d: bytes = data, g: bytes = sig) -> None:
            pub.verify(g, d, alg)

        out.append(Item("signatures", what, 1, _cpu_us(verify, n)))
    out.append(
        Item(
            "signatures",
            "sign: the endorsement",
            1,
            _cpu_us(lambda: key.sign(s.prp_endorser, alg), n),
        )
    )
    header = b"h" * 80  # the block's signed metadata: small, once per block
    out.append(
        Item(
            "signatures",
            "sign: the block (orderer)",
            1 / BLOCK_TXS,
            _cpu_us(lambda: key.sign(header, alg), n),
        )
    )
    return out


def _hashing(s: _Sample, n: int) -> list[Item]:
    update = s.key_value[0].encode() + s.key_value[1] + b"\x00" * 12  # key, value, version
    return [
        Item(
            "hashing",
            "txid: SHA-256 of nonce + creator (endorser, validation)",
            2,
            _cpu_us(lambda: hashlib.sha256(s.nonce_creator).digest(), n),
        ),
        Item(
            "hashing",
            "block data hash over the envelope (orderer, each peer)",
            1 + PEERS,
            _cpu_us(lambda: hashlib.sha256(s.envelope).digest(), n),
        ),
        Item(
            "hashing",
            "commit hash over the updates (each peer)",
            PEERS,
            _cpu_us(lambda: hashlib.sha256(update).digest(), n),
        ),
    ]


def _state_writes(s: _Sample, blocks: int) -> list[Item]:
    from fabric_protos.common import common_pb2

    from network.embedded.blockstore import BlockIndex
    from network.embedded.history import HistoryDB
    from network.embedded.statedb import StateDB, UpdateBatch
    from network.embedded.validator import HistoryWrite

    env = s.envelope
    with tempfile.TemporaryDirectory(prefix="cbp-floor-") as tmp:
        db = StateDB(Path(tmp) / "state.sqlite")
        BlockIndex(db._writer)
        HistoryDB(db._writer)
        spent = 0.0
        for b in range(blocks):
            batch = UpdateBatch()
            history = []
            txs = []
            for i in range(BLOCK_TXS):
                k = f"{s.key_value[0]}-{b}-{i}"
                batch.put("smoke", k, s.key_value[1], (b + 1, i))
                history.append(
                    HistoryWrite("smoke", k, b + 1, i, f"{b:032d}{i:032d}", s.key_value[1], (0, 0))
                )
                txs.append((f"{b:032d}{i:032d}", i, 0))
            start = time.process_time()
            with db.transaction() as conn:
                StateDB.apply(conn, batch, b + 1)
                HistoryDB.add(conn, history)
                BlockIndex.add(conn, b + 1, os.urandom(32), txs)
            spent += time.process_time() - start
        db.close()
        rows_us = spent / (blocks * BLOCK_TXS) * 1e6
        block = common_pb2.Block()
        block.data.data.extend([env] * BLOCK_TXS)
        path = Path(tmp) / "blocks.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

        def append() -> None:
            raw = block.SerializeToString()
            os.write(fd, zlib.crc32(raw).to_bytes(4, "big") + raw)

        append_us = _cpu_us(append, blocks) / BLOCK_TXS
        os.close(fd)
    return [
        Item(
            "state writes",
            "state, history and tx index rows (each peer; SQLite, one transaction a block)",
            PEERS,
            rows_us,
        ),
        Item(
            "state writes",
            "block appended to the file (each peer and the orderer)",
            PEERS + 1,
            append_us,
        ),
    ]


# --- the protocol's messages ---------------------------------------------------------------

_IDENT = (lambda b: b, lambda b: b)


def _partner(role: str, port: int, cert: bytes, key_pem: bytes, n: int, ready: Any) -> None:
    """The other end, in a process of its own: a client that calls, or a stream echo server."""
    import grpc

    async def client() -> None:
        creds = grpc.ssl_channel_credentials(cert)
        async with grpc.aio.secure_channel(f"localhost:{port}", creds) as ch:
            call = ch.unary_unary("/floor.F/U", *_IDENT)
            await call(b"x" * 3000)
            ready.set()
            sem = asyncio.Semaphore(200)

            async def one() -> None:
                async with sem:
                    await call(b"x" * 3000)

            await asyncio.gather(*(one() for _ in range(n)))

    async def server() -> None:
        async def echo(requests: Any, _ctx: Any) -> Any:
            async for m in requests:
                yield m[:100]

        srv = grpc.aio.server()
        srv.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "floor.F", {"S": grpc.stream_stream_rpc_method_handler(echo, *_IDENT)}
                )
            ]
        )
        srv.add_secure_port(f"localhost:{port}", grpc.ssl_server_credentials([(key_pem, cert)]))
        await srv.start()
        ready.set()
        await srv.wait_for_termination()

    run_loop(client() if role == "client" else server())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _grpc(key: Any, cert: bytes, n: int) -> list[Item]:
    import grpc
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ctx = multiprocessing.get_context("spawn")

    async def served() -> float:
        port = _free_port()

        async def handler(req: bytes, _ctx: Any) -> bytes:
            return req[:100]

        srv = grpc.aio.server()
        srv.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "floor.F", {"U": grpc.unary_unary_rpc_method_handler(handler, *_IDENT)}
                )
            ]
        )
        srv.add_secure_port(f"localhost:{port}", grpc.ssl_server_credentials([(key_pem, cert)]))
        await srv.start()
        ready = ctx.Event()
        proc = ctx.Process(target=_partner, args=("client", port, cert, key_pem, n, ready))
        proc.start()
        await asyncio.to_thread(ready.wait, 60)
        start = time.process_time()
        await asyncio.to_thread(proc.join, 120)
        spent = time.process_time() - start
        await srv.stop(None)
        return spent / n * 1e6

    async def stream() -> float:
        port = _free_port()
        ready = ctx.Event()
        proc = ctx.Process(target=_partner, args=("server", port, cert, key_pem, n, ready))
        proc.start()
        try:
            await asyncio.to_thread(ready.wait, 60)
            creds = grpc.ssl_channel_credentials(cert)
            async with grpc.aio.secure_channel(f"localhost:{port}", creds) as ch:
                call = ch.stream_stream("/floor.F/S", *_IDENT)()
                await call.write(b"x" * 3000)
                await call.read()
                start = time.process_time()
                for _ in range(n):
                    await call.write(b"x" * 3000)
                    await call.read()
                spent = time.process_time() - start
                await call.done_writing()
        finally:
            proc.terminate()
            proc.join(10)
        return spent / n * 1e6

    unary = run_loop(served())
    rounds = run_loop(stream())
    return [
        Item("messages", "unary call served (Endorse, Submit, CommitStatus)", 3, unary),
        Item("messages", "chaincode stream round trip (TRANSACTION, RESPONSE)", 2, rounds),
    ]


def measure(repeat: int = 2000, say: Callable[[str], None] = lambda _m: None) -> list[Item]:
    key, cert, ident = _identity()
    sample = _sample(key, ident)
    say("signatures")
    items = _signatures(key, sample, repeat)
    say("hashing")
    items += _hashing(sample, repeat * 5)
    say("state writes")
    items += _state_writes(sample, max(4, repeat // 250))
    say("gRPC messages (a partner process at the other end)")
    items += _grpc(key, cert, repeat)
    return items


def totals(items: list[Item]) -> tuple[float, float]:
    """(the work's floor, with the protocol's messages) in microseconds per transaction."""
    work = sum(i.us_per_tx for i in items if i.group != "messages")
    return work, work + sum(i.us_per_tx for i in items if i.group == "messages")


def to_text(items: list[Item], machine: str) -> str:
    rows = [("what each committed transaction costs", "per tx", "each", "per tx")]
    rows += [
        (f"{i.group}: {i.what}", f"{i.per_tx:g}", f"{i.each_us:.1f} us", f"{i.us_per_tx:.1f} us")
        for i in items
    ]
    work, with_messages = totals(items)
    width = max(len(r[0]) for r in rows)
    out = [f"cbp bench floor — {machine}", ""]
    for r in rows:
        out.append(f"{r[0]:<{width}}  {r[1]:>6}  {r[2]:>9}  {r[3]:>9}")
    out.append("")
    out.append(
        f"floor of the work (signatures, hashing, state writes): {work / 1000:.2f} ms per tx"
    )
    out.append(
        f"with the protocol's messages on grpc.aio (3 calls served, 2 stream round trips): "
        f"{with_messages / 1000:.2f} ms per tx"
    )
    return "\n".join(out)


__all__ = ["Item", "measure", "to_text", "totals"]
