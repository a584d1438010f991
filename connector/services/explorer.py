"""The ledger as an explorer shows it: channels and heights, blocks, transactions, read/write
sets, the channel's configuration and the verification of the chain, for the channels this
organisation reads.

Everything is read through the gateway as one of the organisation's Fabric users, so the
channel's Readers policy decides what may be seen (qscc and Deliver), never this module. Values
are decoded for people: JSON shown as JSON, text as text, anything else as its size and
SHA-256, never raw bytes. Decoded blocks are kept in a small cache: a block never changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.errors import NotFound
from connector.ledger import Ledger, LedgerError, translate
from connector.org import OrgContext
from gateway import GatewayClientError
from gateway.audit import ChainReport, ProtocolError
from gateway.channel_config import ChannelConfigRecord, decode_channel_config
from gateway.endpoints import read_profile
from gateway.ledger import BlockRecord, TransactionRecord, decode_block

_CACHE = 512  # decoded blocks kept per connector
PAGE = 20  # blocks per explorer page


@dataclass(frozen=True)
class Shown:
    """A ledger value made readable: `kind` is json, text, empty or binary."""

    kind: str
    text: str

    @property
    def multiline(self) -> bool:
        return "\n" in self.text


def shown(value: bytes) -> Shown:
    if not value:
        return Shown("empty", "(empty)")
    if value == b"\x00":
        return Shown("empty", "index entry (one NUL byte)")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        digest = hashlib.sha256(value).hexdigest()
        return Shown("binary", f"{len(value)} bytes of binary data, SHA-256 {digest}")
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return Shown("json", json.dumps(json.loads(stripped), indent=2, sort_keys=True))
        except ValueError:
            pass
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return Shown("text", text.replace("\x00", " › ").strip(" ›"))
    return Shown("text", text)


def key_shown(key: str) -> str:
    """A composite key (`\\x00POD\\x00IT002E...\\x00`) as `POD › IT002E...`."""
    if key.startswith("\x00"):
        return " › ".join(p for p in key.split("\x00") if p)
    return key


@dataclass(frozen=True)
class Read:
    namespace: str
    key: str
    version: tuple[int, int] | None


@dataclass(frozen=True)
class Written:
    namespace: str
    key: str
    value: Shown
    is_delete: bool


@dataclass(frozen=True)
class TxView:
    """One transaction of a block, decoded."""

    tx_id: str
    index: int
    block: int
    type: str
    timestamp: datetime
    creator_msp: str
    creator: str
    validation: str
    valid: bool
    chaincode: str
    function: str
    args: tuple[Shown, ...]
    endorsers: tuple[str, ...]
    reads: tuple[Read, ...]
    writes: tuple[Written, ...]
    events: tuple[str, ...]
    private_collections: tuple[str, ...]
    response_status: int | None

    @property
    def call(self) -> str:
        return f"{self.chaincode} {self.function}" if self.chaincode else self.type.lower()


@dataclass(frozen=True)
class BlockView:
    channel: str
    number: int
    header_hash: str
    previous_hash: str
    data_hash: str
    transactions: tuple[TxView, ...]
    config: ChannelConfigRecord | None = None
    # the transactions as decoded, raw keys and values: what the history walk reads
    records: tuple[TransactionRecord, ...] = field(default=(), repr=False)

    @property
    def timestamp(self) -> datetime | None:
        return self.transactions[0].timestamp if self.transactions else None

    @property
    def valid_count(self) -> int:
        return sum(1 for t in self.transactions if t.valid)


@dataclass(frozen=True)
class ChannelView:
    name: str
    height: int | None
    orgs: tuple[str, ...]
    chaincodes: tuple[str, ...]
    error: str | None = None


def _common_name(subject: str) -> str:
    for part in subject.split(","):
        if part.startswith("CN="):
            return part[3:]
    return subject


def tx_view(tx: TransactionRecord, index: int, block: int) -> TxView:
    return TxView(
        tx_id=tx.transaction_id,
        index=index,
        block=block,
        type=tx.type,
        timestamp=tx.timestamp,
        creator_msp=tx.creator_msp,
        creator=_common_name(tx.creator_subject),
        validation=tx.validation or "UNKNOWN",
        valid=tx.valid,
        chaincode=tx.chaincode,
        function=tx.function,
        args=tuple(shown(a) for a in tx.args),
        endorsers=tx.endorsers,
        reads=tuple(Read(r.namespace, key_shown(r.key), r.version) for r in tx.reads),
        writes=tuple(
            Written(w.namespace, key_shown(w.key), shown(w.value), w.is_delete) for w in tx.writes
        ),
        events=tx.events,
        private_collections=tx.private_collections,
        response_status=tx.response_status,
    )


def block_view(channel: str, block: Any) -> BlockView:
    record: BlockRecord = decode_block(block)
    config = None
    if record.is_config:
        try:
            config = decode_channel_config(block)
        except ProtocolError:
            config = None
    return BlockView(
        channel=channel,
        number=record.number,
        header_hash=record.header_hash.hex(),
        previous_hash=record.previous_hash.hex(),
        data_hash=record.data_hash.hex(),
        transactions=tuple(tx_view(t, i, record.number) for i, t in enumerate(record.transactions)),
        config=config,
        records=record.transactions,
    )


def _not_found(exc: GatewayClientError) -> bool:
    """qscc's answer for an id no block holds (Fabric: "failed to get block for txID ...")."""
    details = getattr(exc, "details", ())
    text = " ".join([str(exc), *(getattr(d, "message", "") for d in details)]).lower()
    return "not found" in text or "failed to get" in text or "no such" in text


class Explorer:
    """What the explorer pages and the history timeline read from the ledger."""

    def __init__(self, org: OrgContext, ledger: Ledger) -> None:
        self.org = org
        self.ledger = ledger
        self._cache: OrderedDict[tuple[str, int], BlockView] = OrderedDict()
        self._specs: dict[str, dict[str, Any]] | None = None

    def _channel_specs(self) -> dict[str, dict[str, Any]]:
        if self._specs is None:
            channels = read_profile(self.org.profile_path).get("channels", {})
            self._specs = {
                name: spec
                for name, spec in sorted(channels.items())
                if self.org.me.key in spec.get("orgs", [])
            }
        return self._specs

    def channels(self) -> list[str]:
        """Every channel this organisation is a member of (so a Reader of)."""
        return list(self._channel_specs())

    def require_channel(self, channel: str) -> None:
        if channel not in self._channel_specs():
            raise NotFound(
                f"channel {channel!r} is not one of {self.org.me.name}'s: "
                f"{', '.join(self.channels())}"
            )

    async def _network(self, fabric_user: str, channel: str) -> Any:
        self.require_channel(channel)
        return (await self.ledger.gateway(fabric_user)).get_network(channel)

    async def overview(self, fabric_user: str) -> list[ChannelView]:
        async def one(name: str, spec: dict[str, Any]) -> ChannelView:
            orgs = tuple(spec.get("orgs", []))
            codes = tuple(spec.get("chaincodes", []))
            try:
                height = await asyncio.wait_for(self.height(fabric_user, name), 5.0)
            except (LedgerError, TimeoutError) as exc:
                return ChannelView(name, None, orgs, codes, str(exc) or "no answer within 5 s")
            return ChannelView(name, height, orgs, codes)

        specs = self._channel_specs()
        return list(await asyncio.gather(*(one(n, s) for n, s in specs.items())))

    async def height(self, fabric_user: str, channel: str) -> int:
        network = await self._network(fabric_user, channel)
        try:
            return int((await network.get_chain_info()).height)
        except GatewayClientError as exc:
            raise translate(exc, f"height of {channel}") from exc

    async def block(self, fabric_user: str, channel: str, number: int) -> BlockView:
        cached = self._cache.get((channel, number))
        if cached is not None:
            self._cache.move_to_end((channel, number))
            return cached
        network = await self._network(fabric_user, channel)
        try:
            raw = await network.get_block(number)
        except GatewayClientError as exc:
            raise translate(exc, f"block {number} of {channel}") from exc
        view = block_view(channel, raw)
        self._cache[(channel, number)] = view
        while len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return view

    async def blocks(
        self, fabric_user: str, channel: str, top: int, count: int = PAGE
    ) -> list[BlockView]:
        """Blocks `top`, `top - 1`, ... (at most `count`), newest first."""
        numbers = list(range(top, max(-1, top - count), -1))
        return list(await asyncio.gather(*(self.block(fabric_user, channel, n) for n in numbers)))

    async def transaction(self, fabric_user: str, channel: str, tx_id: str) -> TxView:
        network = await self._network(fabric_user, channel)
        try:
            raw = await network.get_block_by_transaction_id(tx_id)
        except GatewayClientError as exc:
            if _not_found(exc):
                raise NotFound(f"no transaction {tx_id} on {channel}") from None
            raise translate(exc, f"transaction {tx_id} on {channel}") from exc
        number = int(raw.header.number)
        view = self._cache.get((channel, number)) or block_view(channel, raw)
        self._cache[(channel, number)] = view
        for tx in view.transactions:
            if tx.tx_id == tx_id:
                return tx
        raise NotFound(f"transaction {tx_id} is not in block {number} of {channel}")

    async def verify(self, fabric_user: str, channel: str) -> ChainReport:
        """`cbp audit verify`: every block's data hash, its link to the previous header and the
        orderer's signatures, checked here, trusting nothing the peer says."""
        network = await self._network(fabric_user, channel)
        try:
            return await network.audit_chain()
        except GatewayClientError as exc:
            raise translate(exc, f"verification of {channel}") from exc
