"""Pure helpers over Fabric's protobuf messages, named after Fabric's own `protoutil` package.

Block hashing follows `protoutil/blockutils.go`: the header hash is SHA-256 over the ASN.1 DER
encoding of SEQUENCE{INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash}, and the
data hash is SHA-256 over the concatenated envelopes. Parsing returns plain dataclasses so the
validator, endorser and services each parse an envelope or proposal once.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf import timestamp_pb2
from google.protobuf.message import DecodeError, Message

Code = transaction_pb2.TxValidationCode

NUM_BLOCK_METADATA = len(common_pb2.BlockMetadataIndex.keys())


class ProtoError(ValueError):
    """A message could not be parsed; `code` is the TxValidationCode Fabric would assign."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- DER encoding of the block header (Go's encoding/asn1 as Fabric uses it) -----------------


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_integer(value: int) -> bytes:
    # Minimal two's complement; Fabric passes a non-negative big.Int.
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)
    return b"\x02" + _der_length(len(raw)) + raw


def _der_octets(value: bytes) -> bytes:
    return b"\x04" + _der_length(len(value)) + value


def block_header_bytes(header: common_pb2.BlockHeader) -> bytes:
    body = (
        _der_integer(header.number)
        + _der_octets(header.previous_hash)
        + _der_octets(header.data_hash)
    )
    return b"\x30" + _der_length(len(body)) + body


def block_header_hash(header: common_pb2.BlockHeader) -> bytes:
    return hashlib.sha256(block_header_bytes(header)).digest()


def block_data_hash(data: common_pb2.BlockData) -> bytes:
    return hashlib.sha256(b"".join(data.data)).digest()


def varint(n: int) -> bytes:
    """Protobuf's base-128 varint (Fabric's protowire.AppendVarint)."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def compute_txid(nonce: bytes, creator: bytes) -> str:
    return hashlib.sha256(nonce + creator).hexdigest()


def new_nonce() -> bytes:
    return os.urandom(24)


def now_timestamp() -> timestamp_pb2.Timestamp:
    ns = time.time_ns()
    return timestamp_pb2.Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def new_block(number: int, previous_hash: bytes) -> common_pb2.Block:
    block = common_pb2.Block()
    block.header.number = number
    block.header.previous_hash = previous_hash
    block.metadata.metadata.extend([b""] * NUM_BLOCK_METADATA)
    return block


def ensure_metadata(block: common_pb2.Block) -> None:
    """Pad the metadata array to every BlockMetadataIndex, as Fabric's committer does."""
    missing = NUM_BLOCK_METADATA - len(block.metadata.metadata)
    if missing > 0:
        block.metadata.metadata.extend([b""] * missing)


def tx_filter(block: common_pb2.Block) -> bytes:
    ensure_metadata(block)
    return bytes(block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER])


def txid_of(env_bytes: bytes) -> str:
    """The transaction id in an envelope's channel header, "" when it has none readable
    (cheaper than `unpack_envelope`: three parses, nothing else)."""
    try:
        env = common_pb2.Envelope.FromString(env_bytes)
        payload = common_pb2.Payload.FromString(env.payload)
        return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)
    except Exception:  # noqa: BLE001 - any undecodable envelope has no txid
        return ""


def last_config_index(block: common_pb2.Block) -> int:
    """Index of the last config block, from the SIGNATURES metadata (v2+) or LAST_CONFIG."""
    c = common_pb2
    ensure_metadata(block)
    raw = block.metadata.metadata[c.SIGNATURES]
    if raw:
        md = c.Metadata.FromString(raw)
        if md.value:
            obm = c.OrdererBlockMetadata.FromString(md.value)
            if obm.HasField("last_config"):
                return obm.last_config.index
    raw = block.metadata.metadata[c.LAST_CONFIG]
    if raw:
        md = c.Metadata.FromString(raw)
        return c.LastConfig.FromString(md.value).index
    return 0


# --- headers -----------------------------------------------------------------------------------


def make_channel_header(
    header_type: int,
    channel_id: str,
    tx_id: str = "",
    *,
    epoch: int = 0,
    extension: bytes = b"",
    timestamp: timestamp_pb2.Timestamp | None = None,
) -> common_pb2.ChannelHeader:
    return common_pb2.ChannelHeader(
        type=header_type,
        version=0,
        channel_id=channel_id,
        tx_id=tx_id,
        epoch=epoch,
        extension=extension,
        timestamp=timestamp or now_timestamp(),
    )


def make_signature_header(creator: bytes, nonce: bytes) -> common_pb2.SignatureHeader:
    return common_pb2.SignatureHeader(creator=creator, nonce=nonce)


def make_payload_header(
    channel_header: common_pb2.ChannelHeader, signature_header: common_pb2.SignatureHeader
) -> common_pb2.Header:
    return common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )


def serialized_identity(msp_id: str, cert_pem: bytes) -> bytes:
    return identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=cert_pem).SerializeToString()


# --- envelopes --------------------------------------------------------------------------------


@dataclass(slots=True)
class ChaincodeActionInfo:
    """The one action of an endorser transaction, as the committer needs it."""

    namespace: str
    chaincode_id: chaincode_pb2.ChaincodeID
    results: bytes
    events: bytes
    response: proposal_response_pb2.Response
    proposal_response_payload: bytes
    endorsements: list[proposal_response_pb2.Endorsement]
    chaincode_proposal_payload: bytes
    proposal_hash: bytes = b""
    action_header: bytes = b""

    def event(self) -> chaincode_event_pb2.ChaincodeEvent | None:
        if not self.events:
            return None
        return chaincode_event_pb2.ChaincodeEvent.FromString(self.events)


@dataclass(slots=True)
class ParsedTx:
    envelope: common_pb2.Envelope
    payload: common_pb2.Payload
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader
    header_type: int
    channel_id: str
    txid: str
    creator: bytes
    nonce: bytes
    action: ChaincodeActionInfo | None = None
    action_error: ProtoError | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def signed_bytes(self) -> bytes:
        return self.envelope.payload

    @property
    def signature(self) -> bytes:
        return self.envelope.signature


M = TypeVar("M", bound=Message)


def _parse(cls: type[M], raw: bytes, what: str, code: int) -> M:
    try:
        return cls.FromString(raw)
    except (DecodeError, ValueError) as exc:
        raise ProtoError(code, f"{what} cannot be unmarshalled: {exc}") from exc


def unpack_envelope(env_bytes: bytes | common_pb2.Envelope) -> ParsedTx:
    """Parse an envelope down to the chaincode action; raises ProtoError with Fabric's code."""
    if isinstance(env_bytes, common_pb2.Envelope):
        env = env_bytes
    else:
        env = _parse(common_pb2.Envelope, env_bytes, "envelope", Code.INVALID_OTHER_REASON)
    payload: common_pb2.Payload = _parse(
        common_pb2.Payload, env.payload, "payload", Code.BAD_PAYLOAD
    )
    if not payload.HasField("header"):
        raise ProtoError(Code.BAD_COMMON_HEADER, "payload header is missing")
    chdr: common_pb2.ChannelHeader = _parse(
        common_pb2.ChannelHeader,
        payload.header.channel_header,
        "channel header",
        Code.BAD_COMMON_HEADER,
    )
    shdr: common_pb2.SignatureHeader = _parse(
        common_pb2.SignatureHeader,
        payload.header.signature_header,
        "signature header",
        Code.BAD_COMMON_HEADER,
    )
    parsed = ParsedTx(
        envelope=env,
        payload=payload,
        channel_header=chdr,
        signature_header=shdr,
        header_type=chdr.type,
        channel_id=chdr.channel_id,
        txid=chdr.tx_id,
        creator=shdr.creator,
        nonce=shdr.nonce,
    )
    if chdr.type == common_pb2.ENDORSER_TRANSACTION:
        # A malformed action is reported after the creator's signature is checked, as in
        # Fabric's ValidateTransaction; the parse error waits in `action_error`.
        try:
            parsed.action = _unpack_endorser_action(payload.data)
        except ProtoError as exc:
            parsed.action_error = exc
    return parsed


def _unpack_endorser_action(data: bytes) -> ChaincodeActionInfo:
    bad = Code.INVALID_ENDORSER_TRANSACTION
    tx: transaction_pb2.Transaction = _parse(transaction_pb2.Transaction, data, "transaction", bad)
    if len(tx.actions) != 1:
        raise ProtoError(bad, f"transaction has {len(tx.actions)} actions; exactly one is allowed")
    ahdr = _parse(common_pb2.SignatureHeader, tx.actions[0].header, "action header", bad)
    if not ahdr.nonce or not ahdr.creator:
        raise ProtoError(bad, "action signature header needs a nonce and a creator")
    cap: transaction_pb2.ChaincodeActionPayload = _parse(
        transaction_pb2.ChaincodeActionPayload, tx.actions[0].payload, "action payload", bad
    )
    if not cap.HasField("action"):
        raise ProtoError(bad, "chaincode action payload has no endorsed action")
    prp: proposal_response_pb2.ProposalResponsePayload = _parse(
        proposal_response_pb2.ProposalResponsePayload,
        cap.action.proposal_response_payload,
        "proposal response payload",
        bad,
    )
    cca: proposal_pb2.ChaincodeAction = _parse(
        proposal_pb2.ChaincodeAction, prp.extension, "chaincode action", bad
    )
    if not cca.HasField("chaincode_id") or not cca.chaincode_id.name:
        raise ProtoError(bad, "chaincode action names no chaincode")
    return ChaincodeActionInfo(
        namespace=cca.chaincode_id.name,
        chaincode_id=cca.chaincode_id,
        results=cca.results,
        events=cca.events,
        response=cca.response,
        proposal_response_payload=cap.action.proposal_response_payload,
        endorsements=list(cap.action.endorsements),
        chaincode_proposal_payload=cap.chaincode_proposal_payload,
        proposal_hash=prp.proposal_hash,
        action_header=tx.actions[0].header,
    )


# --- proposals --------------------------------------------------------------------------------


@dataclass(slots=True)
class ParsedProposal:
    signed: proposal_pb2.SignedProposal
    proposal: proposal_pb2.Proposal
    header: common_pb2.Header
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader
    chaincode_header_ext: proposal_pb2.ChaincodeHeaderExtension
    payload: proposal_pb2.ChaincodeProposalPayload
    invocation: chaincode_pb2.ChaincodeInvocationSpec
    # Read from the messages once: the gateway, each endorser and the chaincode handler ask
    # for them again and again, and every read through a protobuf message allocates.
    txid: str = field(init=False)
    channel_id: str = field(init=False)
    creator: bytes = field(init=False)
    chaincode_name: str = field(init=False)
    _proposal_hash: bytes | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.txid = self.channel_header.tx_id
        self.channel_id = self.channel_header.channel_id
        self.creator = self.signature_header.creator
        self.chaincode_name = self.invocation.chaincode_spec.chaincode_id.name

    @property
    def args(self) -> list[bytes]:
        return list(self.invocation.chaincode_spec.input.args)

    @property
    def transient(self) -> dict[str, bytes]:
        return dict(self.payload.TransientMap)

    def proposal_hash(self) -> bytes:
        if self._proposal_hash is None:
            self._proposal_hash = proposal_hash(self.header, self.payload)
        return self._proposal_hash


def unpack_proposal(signed: proposal_pb2.SignedProposal | bytes) -> ParsedProposal:
    """Parse a SignedProposal; raises ValueError naming the part that is malformed."""
    if isinstance(signed, bytes | bytearray):
        signed = proposal_pb2.SignedProposal.FromString(bytes(signed))
    bad = Code.BAD_PROPOSAL_TXID  # unused as a code; proposals are refused, not recorded
    prop: proposal_pb2.Proposal = _parse(
        proposal_pb2.Proposal, signed.proposal_bytes, "proposal", bad
    )
    hdr: common_pb2.Header = _parse(common_pb2.Header, prop.header, "proposal header", bad)
    chdr: common_pb2.ChannelHeader = _parse(
        common_pb2.ChannelHeader, hdr.channel_header, "channel header", bad
    )
    shdr: common_pb2.SignatureHeader = _parse(
        common_pb2.SignatureHeader, hdr.signature_header, "signature header", bad
    )
    ext: proposal_pb2.ChaincodeHeaderExtension = _parse(
        proposal_pb2.ChaincodeHeaderExtension, chdr.extension, "chaincode header extension", bad
    )
    cpp: proposal_pb2.ChaincodeProposalPayload = _parse(
        proposal_pb2.ChaincodeProposalPayload, prop.payload, "chaincode proposal payload", bad
    )
    cis: chaincode_pb2.ChaincodeInvocationSpec = _parse(
        chaincode_pb2.ChaincodeInvocationSpec, cpp.input, "chaincode invocation spec", bad
    )
    return ParsedProposal(signed, prop, hdr, chdr, shdr, ext, cpp, cis)


def proposal_hash(
    header: common_pb2.Header, payload: proposal_pb2.ChaincodeProposalPayload
) -> bytes:
    """Fabric's GetProposalHash1: the transient map never reaches the hash or the ledger."""
    visible = proposal_pb2.ChaincodeProposalPayload(input=payload.input)
    h = hashlib.sha256()
    h.update(header.channel_header)
    h.update(header.signature_header)
    h.update(visible.SerializeToString())
    return h.digest()


def proposal_hash_from_tx(channel_header: bytes, action: ChaincodeActionInfo) -> bytes:
    """Fabric's GetProposalHash2 over the tx's header and its proposal payload bytes as sent."""
    h = hashlib.sha256()
    h.update(channel_header)
    h.update(action.action_header)
    h.update(action.chaincode_proposal_payload)
    return h.digest()


def create_proposal(
    creator: bytes,
    channel_id: str,
    chaincode: str,
    args: list[bytes],
    *,
    transient: dict[str, bytes] | None = None,
    nonce: bytes | None = None,
) -> tuple[proposal_pb2.Proposal, str]:
    """Build a chaincode invocation proposal as the client SDKs do; returns (proposal, txid)."""
    nonce = nonce if nonce is not None else new_nonce()
    txid = compute_txid(nonce, creator)
    ext = proposal_pb2.ChaincodeHeaderExtension(
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode)
    )
    chdr = make_channel_header(
        common_pb2.ENDORSER_TRANSACTION, channel_id, txid, extension=ext.SerializeToString()
    )
    shdr = make_signature_header(creator, nonce)
    cis = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.GOLANG,
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
            input=chaincode_pb2.ChaincodeInput(args=args),
        )
    )
    cpp = proposal_pb2.ChaincodeProposalPayload(
        input=cis.SerializeToString(), TransientMap=transient or {}
    )
    prop = proposal_pb2.Proposal(
        header=make_payload_header(chdr, shdr).SerializeToString(),
        payload=cpp.SerializeToString(),
    )
    return prop, txid


def create_proposal_response_payload(
    prop_hash: bytes, action: proposal_pb2.ChaincodeAction
) -> bytes:
    return proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=prop_hash, extension=action.SerializeToString()
    ).SerializeToString()


def create_signed_tx(
    proposal: proposal_pb2.Proposal,
    responses: list[proposal_response_pb2.ProposalResponse],
    sign: Callable[[bytes], bytes],
) -> common_pb2.Envelope:
    """Assemble the transaction envelope from endorsed responses (Fabric's CreateSignedTx).

    `sign` is a callable bytes -> signature of the proposal's creator.
    """
    if not responses:
        raise ValueError("a transaction needs at least one proposal response")
    first = responses[0].payload
    for r in responses[1:]:
        if r.payload != first:
            raise ValueError("proposal responses do not match: payloads differ between endorsers")
    hdr = common_pb2.Header.FromString(proposal.header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    visible = proposal_pb2.ChaincodeProposalPayload(input=cpp.input)
    cap = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=visible.SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=first,
            endorsements=[r.endorsement for r in responses],
        ),
    )
    tx = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=hdr.signature_header, payload=cap.SerializeToString()
            )
        ]
    )
    payload = common_pb2.Payload(header=hdr, data=tx.SerializeToString()).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=sign(payload))


def chaincode_event_from(action: ChaincodeActionInfo) -> chaincode_event_pb2.ChaincodeEvent | None:
    return action.event()
