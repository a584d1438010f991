"""Generated bad inputs on every gRPC method of the peers and the orderer.

Families (each input is one call; all are refused unless noted):

- ``bytes``: a valid request with bits flipped, cut short, padded or replaced by noise;
  a flip in a field no signature covers may leave a still-valid read (counted as accepted);
- ``nested``: a well-formed outer message carrying garbage where a nested message belongs
  (header, channel header, signature header, payload, seek info, chaincode input, ...),
  re-signed so that the garbage itself, not the signature, is what the server meets;
- ``identity``: forged identities and signatures (self-signed certificate, another MSP's id,
  an expired certificate from the real CA, a signature by another key, a high-S signature,
  garbage instead of a certificate, no signature);
- ``replay``: a committed transaction's proposal sent again to Evaluate, Endorse and
  ProcessProposal (refused as a duplicate); its envelope submitted again is ordered and must
  be invalidated as DUPLICATE_TXID, changing no state (`replay_submissions`);
- ``oversize``: messages past gRPC's 100 MiB limit, arguments past the contracts' limits.

Every input's verdict: ``refused`` (a gRPC status or a Deliver/Broadcast status a Fabric node
gives for bad input), ``accepted`` (a harmless valid read), ``unclean`` (UNKNOWN where Fabric
answers with a status, or anything else unexpected) or ``hang`` (no answer in time).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2, proposal_pb2, proposal_response_pb2

from cbp.faults import messages as msg
from cbp.faults.messages import Signer

FAMILIES = ("bytes", "nested", "identity", "replay", "oversize")
CHANNEL = "bsp1-channel"
UNARY_TIMEOUT = 15.0
STREAM_WAIT = 1.5  # a stream open this long without an error is serving (events wait for more)
HUGE = 101 * 1024 * 1024  # past the 100 MiB every Fabric node accepts
REFUSING_CODES = {
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "ABORTED",
    "INTERNAL",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "UNAUTHENTICATED",
}
# Fabric's Endorser returns plain Go errors (UNKNOWN); nothing else should, but for a chaincode's
# refusal that the gateway relays from Evaluate ("chaincode response 4xx, ..."), as Fabric does
UNKNOWN_ALLOWED = {"/protos.Endorser/ProcessProposal"}
CHAINCODE_REFUSAL = re.compile(
    r"evaluate call to endorser returned error: chaincode response 4\d\d,"
)


@dataclass(frozen=True)
class Method:
    path: str
    node: str  # peer or orderer
    shape: str  # unary, server-stream, bidi

    @property
    def short(self) -> str:
        return self.path.rsplit("/", 2)[-2].split(".")[-1] + "." + self.path.rsplit("/", 1)[-1]


METHODS = [
    Method("/gateway.Gateway/Evaluate", "peer", "unary"),
    Method("/gateway.Gateway/Endorse", "peer", "unary"),
    Method("/gateway.Gateway/Submit", "peer", "unary"),
    Method("/gateway.Gateway/CommitStatus", "peer", "unary"),
    Method("/gateway.Gateway/ChaincodeEvents", "peer", "server-stream"),
    Method("/protos.Endorser/ProcessProposal", "peer", "unary"),
    Method("/protos.Deliver/Deliver", "peer", "bidi"),
    Method("/protos.Deliver/DeliverFiltered", "peer", "bidi"),
    Method("/protos.Deliver/DeliverWithPrivateData", "peer", "bidi"),
    Method("/orderer.AtomicBroadcast/Broadcast", "orderer", "bidi"),
    Method("/orderer.AtomicBroadcast/Deliver", "orderer", "bidi"),
]
BY_NAME = {
    ("Orderer" if m.node == "orderer" and m.path.endswith("/Deliver") else "")
    + m.path.rsplit("/", 1)[-1]: m
    for m in METHODS
}  # Evaluate ... DeliverWithPrivateData, Broadcast, OrdererDeliver


@dataclass(frozen=True)
class WireInput:
    family: str
    method: Method
    label: str
    payload: bytes | Callable[[], bytes]  # a callable for the huge ones: built when sent

    def data(self) -> bytes:
        return self.payload() if callable(self.payload) else self.payload


@dataclass
class Verdict:
    input: WireInput
    verdict: str  # refused, accepted, unclean, hang
    code: str


@dataclass
class WireReport:
    verdicts: list[Verdict] = field(default_factory=list)

    def by_family(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {f: Counter() for f in FAMILIES}
        for v in self.verdicts:
            out[v.input.family][v.verdict] += 1
        return out

    def methods(self) -> set[str]:
        return {v.input.method.path for v in self.verdicts}

    def codes(self, family: str) -> Counter[str]:
        return Counter(v.code for v in self.verdicts if v.input.family == family)

    def bad(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict in ("unclean", "hang")]


# ---- the requests a family starts from -------------------------------------------------------


@dataclass
class Bases:
    """Valid requests, one per method, and what the families derive from them."""

    signer: Signer
    stranger: Signer
    committed_txid: str
    committed_proposal: proposal_pb2.SignedProposal
    committed_envelope: common_pb2.Envelope
    prepared: common_pb2.Envelope  # endorsed by the peers, never submitted

    def forged_envelope(self, signer: Signer) -> common_pb2.Envelope:
        """The prepared transaction as if `signer` had created it: its creator and signature
        are the signer's, so that only a forged identity stands between it and the ledger."""
        payload = common_pb2.Payload.FromString(self.prepared.payload)
        shdr = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        shdr.creator = signer.creator
        payload.header.signature_header = shdr.SerializeToString()
        raw = payload.SerializeToString()
        return common_pb2.Envelope(payload=raw, signature=signer.sign(raw))

    def proposal_for(self, signer: Signer, args: list[bytes] | None = None) -> tuple[bytes, str]:
        prop, txid = msg.proposal(signer, CHANNEL, "smoke", args or [b"Get", b"fault-wire"])
        return msg.signed(signer, prop).SerializeToString(), txid

    def request(self, method: Method, signer: Signer | None = None) -> bytes:
        """The method's valid request (Submit and Broadcast: one only a stranger signed, so
        that no mutation of it can ever be ordered)."""
        s = signer or self.signer
        name = method.path.rsplit("/", 1)[-1]
        if name in ("Evaluate", "Endorse", "ProcessProposal"):
            sp_bytes, txid = self.proposal_for(
                s, [b"Put", b"fault-wire", b"x"] if name == "Endorse" else None
            )
            sp = proposal_pb2.SignedProposal.FromString(sp_bytes)
            if name == "Evaluate":
                return msg.evaluate_request(CHANNEL, txid, sp)
            if name == "Endorse":
                return msg.endorse_request(CHANNEL, txid, sp)
            return sp_bytes
        if name == "Submit":
            return msg.submit_request(CHANNEL, "", self.forged_envelope(signer or self.stranger))
        if name == "CommitStatus":
            return msg.commit_status_request(s, CHANNEL, self.committed_txid)
        if name == "ChaincodeEvents":
            return msg.chaincode_events_request(s, CHANNEL, "smoke")
        if name == "Broadcast":
            return self.forged_envelope(signer or self.stranger).SerializeToString()
        return msg.deliver_envelope(s, CHANNEL).SerializeToString()


# ---- the families ----------------------------------------------------------------------------------


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "truncate", "insert", "splice", "noise", "repeat"])
    b = bytearray(data)
    if kind == "flip" and b:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate" and b:
        del b[rng.randrange(len(b)) :]
    elif kind == "insert":
        i = rng.randrange(len(b) + 1)
        b[i:i] = rng.randbytes(rng.randint(1, 64))
    elif kind == "splice" and b:
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 64))
        b[i:j] = rng.randbytes(j - i)
    elif kind == "repeat" and b:
        i = rng.randrange(len(b))
        b[i:i] = b[i : i + rng.randint(1, 128)] * rng.randint(2, 8)
    else:
        kind = "noise"
        b = bytearray(rng.randbytes(rng.randint(0, 512)))
    return kind, bytes(b)


def byte_inputs(bases: Bases, rng: random.Random, per_method: int) -> Iterator[WireInput]:
    for method in METHODS:
        base = bases.request(method)
        for _ in range(per_method):
            kind, data = _mutate(base, rng)
            yield WireInput("bytes", method, kind, data)


def _garbage(rng: random.Random) -> bytes:
    """Bytes that are no protobuf message at all (field 0, wire type 7, then noise): random
    bytes often decode as some message, and a seek position decoded from noise may be a valid
    request to wait for blocks to come, which is no refusal."""
    return b"\x07" + rng.randbytes(rng.randint(0, 95))


def _proposal_variants(bases: Bases, rng: random.Random) -> Iterator[tuple[str, bytes, str]]:
    """(label, SignedProposal bytes, txid): garbage one level deeper each time, signed right."""
    s = bases.signer
    good, txid = msg.proposal(s, CHANNEL, "smoke", [b"Get", b"fault-wire"])
    hdr = common_pb2.Header.FromString(good.header)
    chdr = common_pb2.ChannelHeader.FromString(hdr.channel_header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(good.payload)

    def with_chdr(**changes: Any) -> bytes:
        c = common_pb2.ChannelHeader()
        c.CopyFrom(chdr)
        for k, v in changes.items():
            setattr(c, k, v)
        h = common_pb2.Header(
            channel_header=c.SerializeToString(), signature_header=hdr.signature_header
        )
        return proposal_pb2.Proposal(
            header=h.SerializeToString(), payload=good.payload
        ).SerializeToString()

    def sign(raw: bytes) -> bytes:
        return msg.signed(s, raw).SerializeToString()

    yield "proposal bytes are garbage", sign(_garbage(rng)), txid
    yield (
        "header is garbage",
        sign(proposal_pb2.Proposal(header=_garbage(rng), payload=good.payload).SerializeToString()),
        txid,
    )
    yield (
        "payload is garbage",
        sign(proposal_pb2.Proposal(header=good.header, payload=_garbage(rng)).SerializeToString()),
        txid,
    )
    for field_name in ("channel_header", "signature_header"):
        h = common_pb2.Header()
        h.CopyFrom(hdr)
        setattr(h, field_name, _garbage(rng))
        yield (
            f"{field_name.replace('_', ' ')} is garbage",
            sign(
                proposal_pb2.Proposal(
                    header=h.SerializeToString(), payload=good.payload
                ).SerializeToString()
            ),
            txid,
        )
    yield "channel header extension is garbage", sign(with_chdr(extension=_garbage(rng))), txid
    yield "unknown channel", sign(with_chdr(channel_id="no-such-channel")), txid
    yield "no channel", sign(with_chdr(channel_id="")), txid
    yield (
        "transaction id not derived from nonce and creator",
        sign(with_chdr(tx_id="f" * 64)),
        "f" * 64,
    )
    yield "header type CONFIG", sign(with_chdr(type=common_pb2.CONFIG)), txid
    yield "header type out of range", sign(with_chdr(type=999)), txid
    bad_input = proposal_pb2.ChaincodeProposalPayload(input=_garbage(rng))
    bad_input.TransientMap.update(cpp.TransientMap)
    yield (
        "chaincode input is garbage",
        sign(
            proposal_pb2.Proposal(
                header=good.header, payload=bad_input.SerializeToString()
            ).SerializeToString()
        ),
        txid,
    )
    creator_garbage = common_pb2.SignatureHeader(creator=_garbage(rng), nonce=os.urandom(24))
    yield (
        "creator is garbage",
        sign(
            proposal_pb2.Proposal(
                header=common_pb2.Header(
                    channel_header=hdr.channel_header,
                    signature_header=creator_garbage.SerializeToString(),
                ).SerializeToString(),
                payload=good.payload,
            ).SerializeToString()
        ),
        txid,
    )
    for label, cc, args in (
        ("chaincode not on the channel", "trading", [b"ReadEv", b"x"]),
        ("no such chaincode", "no-such-chaincode", [b"Get", b"x"]),
        ("function name not UTF-8", "registry", [b"\xff\xfe", b"x"]),
        ("contract not served", "registry", [b"ghost:Fn"]),
    ):
        p, t = msg.proposal(s, CHANNEL, cc, args)
        yield label, msg.signed(s, p).SerializeToString(), t


def _envelope_variants(
    bases: Bases, rng: random.Random, data: bytes
) -> Iterator[tuple[str, bytes]]:
    """(label, Envelope bytes) refused before anything is ordered or read."""
    s = bases.signer
    yield (
        "payload is garbage",
        common_pb2.Envelope(payload=(g := _garbage(rng)), signature=s.sign(g)).SerializeToString(),
    )
    for label, kwargs in (
        ("channel header is garbage", {"channel_header": _garbage(rng)}),
        ("signature header is garbage", {"signature_header": _garbage(rng)}),
        (
            "unknown channel",
            {
                "channel_header": common_pb2.ChannelHeader(
                    type=common_pb2.DELIVER_SEEK_INFO, channel_id="no-such-channel"
                ).SerializeToString()
            },
        ),
        (
            "creator is garbage",
            {
                "signature_header": common_pb2.SignatureHeader(
                    creator=_garbage(rng), nonce=os.urandom(24)
                ).SerializeToString()
            },
        ),
    ):
        yield (
            label,
            msg.envelope(
                s, CHANNEL, common_pb2.DELIVER_SEEK_INFO, data, **kwargs
            ).SerializeToString(),
        )
    yield (
        "no signature",
        common_pb2.Envelope(payload=msg.deliver_envelope(s, CHANNEL).payload).SerializeToString(),
    )
    yield (
        "header is garbage",
        common_pb2.Envelope(
            payload=(
                p := common_pb2.Payload(
                    header=common_pb2.Header(channel_header=_garbage(rng)), data=data
                ).SerializeToString()
            ),
            signature=s.sign(p),
        ).SerializeToString(),
    )


def nested_inputs(bases: Bases, rng: random.Random) -> Iterator[WireInput]:
    s = bases.signer
    for label, sp, txid in _proposal_variants(bases, rng):
        sp_msg = proposal_pb2.SignedProposal.FromString(sp)
        yield WireInput(
            "nested", BY_NAME["Evaluate"], label, msg.evaluate_request(CHANNEL, txid, sp_msg)
        )
        yield WireInput(
            "nested", BY_NAME["Endorse"], label, msg.endorse_request(CHANNEL, txid, sp_msg)
        )
        yield WireInput("nested", BY_NAME["ProcessProposal"], label, sp)
    yield WireInput(
        "nested",
        BY_NAME["Endorse"],
        "no signed proposal",
        msg.endorse_request(CHANNEL, "", proposal_pb2.SignedProposal()),
    )
    for label, env in _envelope_variants(bases, rng, msg.seek_info()):
        for name in ("Deliver", "DeliverFiltered", "DeliverWithPrivateData", "OrdererDeliver"):
            yield WireInput("nested", BY_NAME[name], label, env)
    for label, data in (
        ("seek info is garbage", _garbage(rng)),
        ("start after stop", msg.seek_info(5, 1)),
        ("start beyond the chain, fail if not ready", msg.seek_info(10**9, 10**9)),
    ):
        env = msg.deliver_envelope(s, CHANNEL, data=data).SerializeToString()
        for name in ("Deliver", "DeliverFiltered", "DeliverWithPrivateData", "OrdererDeliver"):
            yield WireInput("nested", BY_NAME[name], label, env)
    for label, env in _envelope_variants(bases, rng, bases.prepared.payload):
        for name in ("Submit", "Broadcast"):
            payload = (
                msg.submit_request(CHANNEL, "", common_pb2.Envelope.FromString(env))
                if name == "Submit"
                else env
            )
            yield WireInput("nested", BY_NAME[name], label, payload)
    config_update = msg.envelope(s, CHANNEL, common_pb2.CONFIG_UPDATE, _garbage(rng))
    yield WireInput(
        "nested", BY_NAME["Broadcast"], "config update", config_update.SerializeToString()
    )
    yield WireInput(
        "nested", BY_NAME["Submit"], "config update", msg.submit_request(CHANNEL, "", config_update)
    )
    yield WireInput(
        "nested",
        BY_NAME["Submit"],
        "no prepared transaction",
        gateway_pb2.SubmitRequest(channel_id=CHANNEL).SerializeToString(),
    )
    for label, inner in (
        ("request is garbage", _garbage(rng)),
        (
            "no identity",
            gateway_pb2.CommitStatusRequest(
                channel_id=CHANNEL, transaction_id=bases.committed_txid
            ).SerializeToString(),
        ),
        (
            "identity is garbage",
            gateway_pb2.CommitStatusRequest(
                channel_id=CHANNEL, transaction_id=bases.committed_txid, identity=_garbage(rng)
            ).SerializeToString(),
        ),
        (
            "unknown channel",
            gateway_pb2.CommitStatusRequest(
                channel_id="no-such-channel",
                transaction_id=bases.committed_txid,
                identity=s.creator,
            ).SerializeToString(),
        ),
        (
            "no transaction id",
            gateway_pb2.CommitStatusRequest(
                channel_id=CHANNEL, identity=s.creator
            ).SerializeToString(),
        ),
    ):
        yield WireInput(
            "nested",
            BY_NAME["CommitStatus"],
            label,
            msg.commit_status_request(s, CHANNEL, "", inner=inner),
        )
    for label, inner in (
        ("request is garbage", _garbage(rng)),
        (
            "identity is garbage",
            gateway_pb2.ChaincodeEventsRequest(
                channel_id=CHANNEL, chaincode_id="smoke", identity=_garbage(rng)
            ).SerializeToString(),
        ),
        (
            "unknown channel",
            gateway_pb2.ChaincodeEventsRequest(
                channel_id="no-such-channel", chaincode_id="smoke", identity=s.creator
            ).SerializeToString(),
        ),
        (
            "no channel",
            gateway_pb2.ChaincodeEventsRequest(
                chaincode_id="smoke", identity=s.creator
            ).SerializeToString(),
        ),
    ):
        yield WireInput(
            "nested",
            BY_NAME["ChaincodeEvents"],
            label,
            msg.chaincode_events_request(s, CHANNEL, "smoke", inner=inner),
        )


def identity_inputs(bases: Bases, forged: dict[str, Signer]) -> Iterator[WireInput]:
    for label, signer in forged.items():
        for method in METHODS:
            yield WireInput("identity", method, label, bases.request(method, signer))
    unsigned = proposal_pb2.SignedProposal(
        proposal_bytes=msg.proposal(bases.signer, CHANNEL, "smoke", [b"Get", b"k"])[
            0
        ].SerializeToString()
    )
    yield WireInput(
        "identity", BY_NAME["Evaluate"], "no signature", msg.evaluate_request(CHANNEL, "", unsigned)
    )
    yield WireInput(
        "identity", BY_NAME["Endorse"], "no signature", msg.endorse_request(CHANNEL, "", unsigned)
    )
    yield WireInput(
        "identity", BY_NAME["ProcessProposal"], "no signature", unsigned.SerializeToString()
    )
    yield WireInput(
        "identity",
        BY_NAME["Submit"],
        "no signature",
        msg.submit_request(CHANNEL, "", common_pb2.Envelope(payload=bases.prepared.payload)),
    )
    yield WireInput(
        "identity",
        BY_NAME["Broadcast"],
        "no signature",
        common_pb2.Envelope(payload=bases.prepared.payload).SerializeToString(),
    )


def replay_inputs(bases: Bases, times: int = 3) -> Iterator[WireInput]:
    sp = bases.committed_proposal
    for _ in range(times):
        yield WireInput(
            "replay",
            BY_NAME["Evaluate"],
            "committed proposal",
            msg.evaluate_request(CHANNEL, bases.committed_txid, sp),
        )
        yield WireInput(
            "replay",
            BY_NAME["Endorse"],
            "committed proposal",
            msg.endorse_request(CHANNEL, bases.committed_txid, sp),
        )
        yield WireInput(
            "replay", BY_NAME["ProcessProposal"], "committed proposal", sp.SerializeToString()
        )


def oversize_inputs(bases: Bases) -> Iterator[WireInput]:
    s = bases.signer
    yield WireInput("oversize", BY_NAME["Evaluate"], "101 MiB request", lambda: b"\x00" * HUGE)
    yield WireInput("oversize", BY_NAME["Deliver"], "101 MiB message", lambda: b"\x00" * HUGE)
    for size in (64 * 1024, 1024 * 1024, 8 * 1024 * 1024):
        p, t = msg.proposal(s, CHANNEL, "registry", [b"ReadPod", b"I" * size])
        yield WireInput(
            "oversize",
            BY_NAME["Evaluate"],
            f"a {size // 1024} KiB id",
            msg.evaluate_request(CHANNEL, t, msg.signed(s, p)),
        )
        p, t = msg.proposal(s, CHANNEL, "registry", [b"RegisterPod", b"[" * size])
        yield WireInput(
            "oversize",
            BY_NAME["Endorse"],
            f"{size // 1024} KiB of nested JSON",
            msg.endorse_request(CHANNEL, t, msg.signed(s, p)),
        )
    p, t = msg.proposal(s, CHANNEL, "registry", [b"ReadPod", *([b"x"] * 10000)])
    yield WireInput(
        "oversize",
        BY_NAME["Evaluate"],
        "10,000 arguments",
        msg.evaluate_request(CHANNEL, t, msg.signed(s, p)),
    )


# ---- sending ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    address: str
    tls_ca: bytes
    hostname: str


def endpoints(profile_path: Path, org: str = "bsp1") -> dict[str, Endpoint]:
    profile = json.loads(Path(profile_path).read_text())
    o = profile["organizations"][org]
    peer_name = (o.get("peers") or [o.get("gatewayPeer")])[0]
    peer = profile["peers"][peer_name]
    orderer = next(iter(profile["orderers"].values()))

    def ep(entry: dict[str, Any]) -> Endpoint:
        return Endpoint(
            entry["url"].removeprefix("grpcs://"),
            Path(entry["tlsCACert"]).read_bytes(),
            entry["hostname"],
        )

    return {"peer": ep(peer), "orderer": ep(orderer)}


def open_channel(ep: Endpoint) -> grpc.aio.Channel:
    options = [
        ("grpc.ssl_target_name_override", ep.hostname),
        ("grpc.max_send_message_length", 256 * 1024 * 1024),
        ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ]
    return grpc.aio.secure_channel(
        ep.address, grpc.ssl_channel_credentials(ep.tls_ca), options=options
    )


def _judge_code(method: Method, code: grpc.StatusCode, details: str = "") -> str:
    name = code.name
    if name in REFUSING_CODES or (name == "UNKNOWN" and method.path in UNKNOWN_ALLOWED):
        return "refused"
    if name == "UNKNOWN" and CHAINCODE_REFUSAL.match(details):
        return "refused"  # a chaincode's 4xx relayed by Evaluate: Fabric's gateway says UNKNOWN
    if name == "DEADLINE_EXCEEDED":
        return "hang"
    return "unclean"


async def send(channel: grpc.aio.Channel, item: WireInput) -> Verdict:
    method = item.method
    try:
        if method.shape == "unary":
            raw = await channel.unary_unary(method.path)(item.data(), timeout=UNARY_TIMEOUT)
            if method.path.endswith("ProcessProposal"):
                status = proposal_response_pb2.ProposalResponse.FromString(raw).response.status
                verdict = "accepted" if 200 <= status < 400 else "refused"
                return Verdict(item, verdict, f"response {status}")
            return Verdict(item, "accepted", "OK")
        if method.shape == "server-stream":
            call = channel.unary_stream(method.path)(item.data(), timeout=UNARY_TIMEOUT)
            try:
                await asyncio.wait_for(call.read(), STREAM_WAIT)
            except TimeoutError:
                pass  # open and waiting for events: serving a valid request
            finally:
                call.cancel()
            return Verdict(item, "accepted", "OK")
        return await _bidi(channel, item)
    except grpc.aio.AioRpcError as exc:
        return Verdict(item, _judge_code(method, exc.code(), exc.details() or ""), exc.code().name)


async def _bidi(channel: grpc.aio.Channel, item: WireInput) -> Verdict:
    method = item.method
    broadcast = method.path.endswith("/Broadcast")
    response_type: Any = (
        ab_pb2.BroadcastResponse
        if broadcast
        else (ab_pb2.DeliverResponse if method.node == "orderer" else events_pb2.DeliverResponse)
    )

    async def one() -> AsyncIterator[bytes]:
        yield item.data()

    call = channel.stream_stream(method.path)(one(), timeout=UNARY_TIMEOUT)
    try:
        async for raw in call:
            response = response_type.FromString(raw)
            if broadcast or response.WhichOneof("Type") == "status":
                status = int(response.status)
                name = common_pb2.Status.Name(status)
                return Verdict(
                    item, "accepted" if status == common_pb2.SUCCESS else "refused", name
                )
        return Verdict(item, "unclean", "stream ended without a status")
    finally:
        call.cancel()


async def run_inputs(
    profile_path: Path,
    inputs: list[WireInput],
    *,
    concurrency: int = 8,
    say: Callable[[str], None] = lambda _m: None,
) -> WireReport:
    eps = endpoints(profile_path)
    channels = {node: open_channel(ep) for node, ep in eps.items()}
    report = WireReport()
    queue = list(reversed(inputs))
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue:
            item = queue.pop()
            report.verdicts.append(await send(channels[item.method.node], item))
            done += 1
            if done % 200 == 0:
                say(f"wire: {done} of {len(inputs)} inputs sent")

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        for ch in channels.values():
            await ch.close()
    return report


# ---- setting up: a committed transaction and a prepared one ------------------------------------


def profile_signer(profile_path: Path, org: str = "bsp1", user: str = "User1") -> Signer:
    """The user's real identity, as the connection profile gives its files."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    profile = json.loads(Path(profile_path).read_text())
    o = profile["organizations"][org]
    creds = o["users"][user]
    key = serialization.load_pem_private_key(Path(creds["key"]).read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Signer(o["mspid"], Path(creds["cert"]).read_bytes(), key)


async def _endorse(
    channel: grpc.aio.Channel, signer: Signer, key: str
) -> tuple[proposal_pb2.SignedProposal, str, common_pb2.Envelope]:
    prop, txid = msg.proposal(signer, CHANNEL, "smoke", [b"Put", key.encode(), b"wire"])
    sp = msg.signed(signer, prop)
    raw = await channel.unary_unary("/gateway.Gateway/Endorse")(
        msg.endorse_request(CHANNEL, txid, sp), timeout=UNARY_TIMEOUT
    )
    return sp, txid, gateway_pb2.EndorseResponse.FromString(raw).prepared_transaction


async def submit_envelope(channel: grpc.aio.Channel, txid: str, env: common_pb2.Envelope) -> None:
    await channel.unary_unary("/gateway.Gateway/Submit")(
        msg.submit_request(CHANNEL, txid, env), timeout=UNARY_TIMEOUT
    )


async def make_bases(profile_path: Path, ca_dir: Path) -> tuple[Bases, dict[str, Signer]]:
    """Commit one smoke transaction (the replays' subject), endorse another without submitting
    it (what Submit and Broadcast inputs carry), and make the forged identities."""
    signer = profile_signer(profile_path)
    stranger_key = msg.new_key()
    stranger = Signer(
        signer.msp_id, msg.certificate("stranger", "nowhere", stranger_key), stranger_key
    )
    channel = open_channel(endpoints(profile_path)["peer"])
    try:
        tag = os.urandom(4).hex()
        sp, txid, env = await _endorse(channel, signer, f"fault-wire-{tag}-committed")
        env.signature = signer.sign(env.payload)
        await submit_envelope(channel, txid, env)
        status = gateway_pb2.CommitStatusResponse.FromString(
            await channel.unary_unary("/gateway.Gateway/CommitStatus")(
                msg.commit_status_request(signer, CHANNEL, txid), timeout=60
            )
        )
        if status.result != 0:
            raise RuntimeError(f"the replays' transaction {txid} was not committed VALID")
        _, _, prepared = await _endorse(channel, signer, f"fault-wire-{tag}-prepared")
    finally:
        await channel.close()
    bases = Bases(signer, stranger, txid, sp, env, prepared)
    return bases, msg.forged_signers(signer, ca_dir)


def all_inputs(
    bases: Bases, forged: dict[str, Signer], seed: int, per_method: int
) -> list[WireInput]:
    """Every family's inputs (the huge ones last, sent one at a time)."""
    rng = random.Random(seed)
    out = [
        *byte_inputs(bases, rng, per_method),
        *nested_inputs(bases, rng),
        *identity_inputs(bases, forged),
        *replay_inputs(bases),
    ]
    return out + list(oversize_inputs(bases))


async def replay_submissions(
    profile_path: Path, bases: Bases, times: int = 2
) -> list[tuple[str, int]]:
    """The committed envelope submitted again `times` through the gateway and `times` straight
    to the orderer; each copy's validation code once committed (DUPLICATE_TXID is 9)."""
    from gateway.aio import from_profile
    from gateway.ledger import decode_block

    eps = endpoints(profile_path)
    peer, orderer = open_channel(eps["peer"]), open_channel(eps["orderer"])
    async with from_profile("bsp1", "User1", profile_path) as gw:
        network = gw.get_network(CHANNEL)
        start = (await network.get_chain_info()).height
        sent: list[str] = []
        try:
            for _ in range(times):
                await submit_envelope(peer, bases.committed_txid, bases.committed_envelope)
                sent.append("Gateway.Submit")

                async def one() -> AsyncIterator[bytes]:
                    yield bases.committed_envelope.SerializeToString()

                call = orderer.stream_stream("/orderer.AtomicBroadcast/Broadcast")(
                    one(), timeout=UNARY_TIMEOUT
                )
                async for raw in call:
                    if ab_pb2.BroadcastResponse.FromString(raw).status == common_pb2.SUCCESS:
                        sent.append("AtomicBroadcast.Broadcast")
                    break
                call.cancel()
        finally:
            await peer.close()
            await orderer.close()
        codes: list[int] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(codes) < len(sent) and asyncio.get_running_loop().time() < deadline:
            height = (await network.get_chain_info()).height
            codes = []
            async for block in network.iter_blocks(start, height - 1):
                codes += [
                    int(t.validation_code or 0)
                    for t in decode_block(block).transactions
                    if t.transaction_id == bases.committed_txid
                ]
            await asyncio.sleep(0.3)
    return list(zip(sent, codes, strict=False))
