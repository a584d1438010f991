"""Ledger records decoded into plain dataclasses, for audit views and reports (pure).

Inputs are what qscc returns (`BlockchainInfo`, `Block`, `ProcessedTransaction`) or blocks from
Deliver. Transient data never reaches a block, and private data appears only as collection
names: values of private writes are never decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from gateway.audit import _parse, block_header_hash
from gateway.errors import validation_code_name


@dataclass(frozen=True)
class ChainInfo:
    height: int
    current_block_hash: bytes
    previous_block_hash: bytes


@dataclass(frozen=True)
class KVRead:
    namespace: str
    key: str
    version: tuple[int, int] | None  # (block, tx) of the version read; None = key absent


@dataclass(frozen=True)
class KVWrite:
    namespace: str
    key: str
    value: bytes
    is_delete: bool


@dataclass(frozen=True)
class TransactionRecord:
    """One transaction as an auditor reads it."""

    transaction_id: str
    channel: str
    type: str
    timestamp: datetime
    creator_msp: str
    creator_subject: str
    chaincode: str = ""
    function: str = ""
    args: tuple[bytes, ...] = ()
    endorsers: tuple[str, ...] = ()
    reads: tuple[KVRead, ...] = ()
    writes: tuple[KVWrite, ...] = ()
    private_collections: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    response_status: int | None = None
    validation_code: int | None = None
    block_number: int | None = None

    @property
    def validation(self) -> str | None:
        return None if self.validation_code is None else validation_code_name(self.validation_code)

    @property
    def valid(self) -> bool:
        return self.validation_code == 0


@dataclass(frozen=True)
class BlockRecord:
    number: int
    previous_hash: bytes
    data_hash: bytes
    header_hash: bytes
    transactions: tuple[TransactionRecord, ...] = field(default=())

    @property
    def is_config(self) -> bool:
        return any(t.type == "CONFIG" for t in self.transactions)


def decode_chain_info(data: bytes) -> ChainInfo:
    info = _parse(ledger_pb2.BlockchainInfo, data, "chain info")
    return ChainInfo(
        height=int(info.height),
        current_block_hash=bytes(info.currentBlockHash),
        previous_block_hash=bytes(info.previousBlockHash),
    )


def _creator(creator: bytes) -> tuple[str, str]:
    sid = _parse(identities_pb2.SerializedIdentity, creator, "creator")
    try:
        subject = x509.load_pem_x509_certificate(bytes(sid.id_bytes)).subject.rfc4514_string()
    except ValueError:
        subject = ""
    return str(sid.mspid), subject


def _endorser_tx_fields(data: bytes) -> dict[str, Any]:
    tx = _parse(transaction_pb2.Transaction, data, "transaction")
    out: dict[str, Any] = {}
    reads: list[KVRead] = []
    writes: list[KVWrite] = []
    collections: list[str] = []
    events: list[str] = []
    endorsers: list[str] = []
    for action in tx.actions:
        cap = _parse(transaction_pb2.ChaincodeActionPayload, action.payload, "action payload")
        cpp = _parse(
            proposal_pb2.ChaincodeProposalPayload, cap.chaincode_proposal_payload, "payload"
        )
        spec = _parse(chaincode_pb2.ChaincodeInvocationSpec, cpp.input, "invocation").chaincode_spec
        args = tuple(bytes(a) for a in spec.input.args)
        out.setdefault("chaincode", spec.chaincode_id.name)
        out.setdefault("function", args[0].decode(errors="replace") if args else "")
        out.setdefault("args", args[1:])
        for e in cap.action.endorsements:
            endorsers.append(_creator(e.endorser)[0])
        prp = _parse(
            proposal_response_pb2.ProposalResponsePayload,
            cap.action.proposal_response_payload,
            "proposal response payload",
        )
        cc_action = _parse(proposal_pb2.ChaincodeAction, prp.extension, "chaincode action")
        out.setdefault("response_status", int(cc_action.response.status))
        if cc_action.events:
            ev = _parse(chaincode_event_pb2.ChaincodeEvent, cc_action.events, "chaincode event")
            if ev.event_name:
                events.append(str(ev.event_name))
        rwset = _parse(rwset_pb2.TxReadWriteSet, cc_action.results, "read-write set")
        for ns in rwset.ns_rwset:
            kv = _parse(kv_rwset_pb2.KVRWSet, ns.rwset, "KV read-write set")
            for r in kv.reads:
                version = (
                    (int(r.version.block_num), int(r.version.tx_num))
                    if r.HasField("version")
                    else None
                )
                reads.append(KVRead(ns.namespace, r.key, version))
            for w in kv.writes:
                writes.append(KVWrite(ns.namespace, w.key, bytes(w.value), bool(w.is_delete)))
            collections += [
                f"{ns.namespace}/{c.collection_name}" for c in ns.collection_hashed_rwset
            ]
    out.update(
        reads=tuple(reads),
        writes=tuple(writes),
        private_collections=tuple(collections),
        events=tuple(events),
        endorsers=tuple(endorsers),
    )
    return out


def decode_envelope(
    envelope_bytes: bytes, *, validation_code: int | None = None, block_number: int | None = None
) -> TransactionRecord:
    env = _parse(common_pb2.Envelope, envelope_bytes, "envelope")
    payload = _parse(common_pb2.Payload, env.payload, "envelope payload")
    ch = _parse(common_pb2.ChannelHeader, payload.header.channel_header, "channel header")
    sh = _parse(common_pb2.SignatureHeader, payload.header.signature_header, "signature header")
    msp, subject = _creator(sh.creator) if sh.creator else ("", "")
    try:
        type_name = str(common_pb2.HeaderType.Name(ch.type))
    except ValueError:
        type_name = f"TYPE_{ch.type}"
    extra = _endorser_tx_fields(payload.data) if ch.type == common_pb2.ENDORSER_TRANSACTION else {}
    return TransactionRecord(
        transaction_id=str(ch.tx_id),
        channel=str(ch.channel_id),
        type=type_name,
        timestamp=ch.timestamp.ToDatetime(tzinfo=UTC),
        creator_msp=msp,
        creator_subject=subject,
        validation_code=validation_code,
        block_number=block_number,
        **extra,
    )


def decode_prepared_transaction(data: bytes) -> TransactionRecord:
    """An endorsed transaction before ordering (`gateway.PreparedTransaction`, the bytes of
    `Transaction.to_bytes()`): its call, read and write sets and event as the endorsers
    computed them, which are what the ledger commits if it is valid."""
    prepared = _parse(gateway_pb2.PreparedTransaction, data, "prepared transaction")
    return decode_envelope(prepared.envelope.SerializeToString())


def decode_processed_transaction(data: bytes) -> TransactionRecord:
    """What qscc GetTransactionByID returns (`peer.ProcessedTransaction`)."""
    processed = _parse(transaction_pb2.ProcessedTransaction, data, "processed transaction")
    return decode_envelope(
        processed.transactionEnvelope.SerializeToString(),
        validation_code=int(processed.validationCode),
    )


def decode_block(block: Any) -> BlockRecord:
    """A `common.Block` (or its bytes) as a `BlockRecord` with every transaction decoded."""
    if isinstance(block, bytes):
        block = _parse(common_pb2.Block, block, "block")
    number = int(block.header.number)
    meta = block.metadata.metadata
    flags = (
        bytes(meta[common_pb2.TRANSACTIONS_FILTER])
        if len(meta) > common_pb2.TRANSACTIONS_FILTER
        else b""
    )
    txs = tuple(
        decode_envelope(
            bytes(env),
            validation_code=flags[i] if i < len(flags) else None,
            block_number=number,
        )
        for i, env in enumerate(block.data.data)
    )
    return BlockRecord(
        number=number,
        previous_hash=bytes(block.header.previous_hash),
        data_hash=bytes(block.header.data_hash),
        header_hash=block_header_hash(block.header),
        transactions=txs,
    )
