"""The messages the engine's processes exchange over their links (`ipc.py`).

Peer process -> core (the ledger process):
    HELLO       request: the peer's name; answered once the core is ready (ledgers recovered,
                chaincodes deployed) with the height of each of the peer's channels
    SUBMIT      request: a transaction envelope for the orderer; answered (status, info) as
                AtomicBroadcast would answer it
    ORDER       notice: an envelope the peer process checked as the orderer would (size,
                channel, Writers policy over its signature), to be ordered as it is; the
                creator's signature counts as verified in the core too
    PRIVATE     notice: the private writes a simulation made, for the committing peers (what
                gossip's dissemination does on Fabric)
Core -> peer process:
    COMMITTED   notice: a peer committed a block (number, codes, txids, header, location in its
                block file); the peer's own process gets every field, the others only
                (peer, channel, number), enough to refresh what they read of that peer's state
Peer process -> peer process:
    ENDORSE     request: a SignedProposal; answered with (error, ProposalResponse), the
                Endorser service's ProcessProposal without the gRPC hop
"""

from __future__ import annotations

import json

from .ipc import LinkError, pack, unpack
from .ledger import Committed

HELLO, SUBMIT, PRIVATE, COMMITTED, COMMITTED_ELSEWHERE, ENDORSE, ORDER = 1, 2, 3, 4, 5, 6, 7

CORE_SOCKET = "engine"  # <run>/engine.sock: the core listens, peer processes connect


def peer_socket(peer: str) -> str:
    """The link name a peer process listens on for endorsements (`<run>/<name>.sock`)."""
    return f"peer-{peer}"


def hello_reply(heights: dict[str, int]) -> bytes:
    return json.dumps(heights).encode()


def read_hello_reply(payload: bytes) -> dict[str, int]:
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise LinkError(f"HELLO reply is not JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
        raise LinkError("HELLO reply must map each channel to its height")
    return {str(k): int(v) for k, v in data.items()}


def submit_reply(status: int, info: str) -> bytes:
    return pack(status, info)


def read_submit_reply(payload: bytes) -> tuple[int, str]:
    status, info = unpack(payload, "ib")
    assert isinstance(status, int) and isinstance(info, bytes)
    return status, info.decode(errors="replace")


def order(channel: str, creator: bytes, signature: bytes, size: int, env: bytes) -> bytes:
    return pack(channel, creator, signature, size, env)


def read_order(payload: bytes) -> tuple[str, bytes, bytes, int, bytes]:
    channel, creator, signature, size, env = unpack(payload, "bbbib")
    assert isinstance(channel, bytes) and isinstance(creator, bytes)
    assert isinstance(signature, bytes) and isinstance(size, int) and isinstance(env, bytes)
    return channel.decode(), creator, signature, size, env


def private(channel: str, txid: str, pvt: bytes) -> bytes:
    return pack(channel, txid, pvt)


def read_private(payload: bytes) -> tuple[str, str, bytes]:
    channel, txid, pvt = unpack(payload, "bbb")
    assert isinstance(channel, bytes) and isinstance(txid, bytes) and isinstance(pvt, bytes)
    return channel.decode(), txid.decode(), pvt


def committed(peer: str, channel: str, c: Committed) -> bytes:
    offset, blen, plen = c.location
    return pack(
        peer, channel, c.number, c.codes, c.header, offset, blen, plen, int(c.config), *c.txids
    )


def read_committed(payload: bytes) -> tuple[str, str, Committed]:
    fields = unpack(payload, "bbibbiiii*b")
    peer, channel, number, codes, header, offset, blen, plen, config = fields[:9]
    txids = tuple(t.decode() for t in fields[9:] if isinstance(t, bytes))
    assert isinstance(peer, bytes) and isinstance(channel, bytes) and isinstance(number, int)
    assert isinstance(codes, bytes) and isinstance(header, bytes)
    assert isinstance(offset, int) and isinstance(blen, int) and isinstance(plen, int)
    if len(txids) != len(codes):
        raise LinkError(f"COMMITTED block {number}: {len(codes)} codes for {len(txids)} txids")
    c = Committed(number, codes, txids, header, (offset, blen, plen), bool(config))
    return peer.decode(), channel.decode(), c


def committed_elsewhere(peer: str, channel: str, number: int) -> bytes:
    return pack(peer, channel, number)


def read_committed_elsewhere(payload: bytes) -> tuple[str, str, int]:
    peer, channel, number = unpack(payload, "bbi")
    assert isinstance(peer, bytes) and isinstance(channel, bytes) and isinstance(number, int)
    return peer.decode(), channel.decode(), number


def endorsed(error: str | None, response: bytes) -> bytes:
    return pack(error or "", response)


def read_endorsed(payload: bytes) -> tuple[str | None, bytes]:
    error, response = unpack(payload, "bb")
    assert isinstance(error, bytes) and isinstance(response, bytes)
    return (error.decode(errors="replace") or None), response


__all__ = [
    "COMMITTED",
    "COMMITTED_ELSEWHERE",
    "CORE_SOCKET",
    "ENDORSE",
    "HELLO",
    "ORDER",
    "PRIVATE",
    "SUBMIT",
    "committed",
    "committed_elsewhere",
    "endorsed",
    "hello_reply",
    "order",
    "peer_socket",
    "private",
    "read_committed",
    "read_committed_elsewhere",
    "read_endorsed",
    "read_hello_reply",
    "read_order",
    "read_private",
    "read_submit_reply",
    "submit_reply",
]
