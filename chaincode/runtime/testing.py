"""Test helpers: signed proposals, client certificates, and an in-memory peer.

``FakePeer`` drives a ``ChaincodeHandler`` the way Fabric's peer does (REGISTERED, READY,
TRANSACTION, answers to every stub request, COMPLETED), against a dict world state, with no
network. Writes are applied when a transaction completes with status 200, as a commit would.
It is a stand-in for unit tests only: claims about the ledger belong to the sandbox tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import queue
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import proposal_pb2

from . import messages as m
from .handler import Chaincode, ChaincodeHandler
from .identity import ATTRIBUTE_EXTENSION_OID

__all__ = [
    "FakePeer",
    "Outcome",
    "TlsFiles",
    "make_creator",
    "make_signed_proposal",
    "make_tls_files",
]

RESULTS_PER_BATCH = 100  # Fabric's peer sends at most this many results per QueryResponse


def make_creator(
    msp_id: str = "Org1MSP",
    common_name: str = "User1@org1.cbp.local",
    attrs: Mapping[str, str] | None = None,
    organization: str = "org1.cbp.local",
    organizational_unit: str = "client",
) -> bytes:
    """A SerializedIdentity with a fresh self-issued X.509 certificate (Fabric CA attributes;
    the OU is the NodeOU role: client, admin, peer)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{organization}"),
        ]
    )
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
    )
    if attrs is not None:
        value = json.dumps({"attrs": dict(attrs)}).encode()
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ATTRIBUTE_EXTENSION_OID, value), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=pem).SerializeToString()


def make_signed_proposal(
    *,
    channel_id: str,
    txid: str,
    args: Sequence[bytes],
    creator: bytes,
    transient: Mapping[str, bytes] | None = None,
    timestamp: dt.datetime | None = None,
    chaincode: str = "smoke",
    nonce: bytes = b"nonce",
) -> proposal_pb2.SignedProposal:
    """A proposal as a client builds it (the signature is not checked by the shim)."""
    when = timestamp or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel_id, tx_id=txid
    )
    channel_header.timestamp.FromDatetime(when)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(
            creator=creator, nonce=nonce
        ).SerializeToString(),
    )
    spec = m.ChaincodeSpec(chaincode_id=m.ChaincodeID(name=chaincode), input=m.ChaincodeInput())
    spec.input.args.extend(args)
    invocation = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString())
    for k, v in (transient or {}).items():
        invocation.TransientMap[k] = v
    proposal = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=invocation.SerializeToString()
    )
    return proposal_pb2.SignedProposal(
        proposal_bytes=proposal.SerializeToString(), signature=b"unchecked"
    )


@dataclass
class Simulation:
    """One transaction's writes, applied on success."""

    writes: dict[tuple[str, str], bytes | None] = field(default_factory=dict)
    metadata: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a transaction ended: COMPLETED (with a peer.Response) or ERROR."""

    message: m.ChaincodeMessage
    requests: list[m.ChaincodeMessage]

    @property
    def txid(self) -> str:
        return str(self.message.txid)

    @property
    def writes(self) -> list[m.ChaincodeMessage]:
        """The write requests the chaincode sent (one WRITE_BATCH_STATE when batching)."""
        kinds = (m.PUT_STATE, m.DEL_STATE, m.PUT_STATE_METADATA, m.WRITE_BATCH_STATE)
        return [r for r in self.requests if r.type in kinds]

    @property
    def completed(self) -> bool:
        return self.message.type == m.COMPLETED

    @property
    def response(self) -> m.Response:
        if not self.completed:
            raise AssertionError(f"transaction ended with ERROR: {self.message.payload!r}")
        return m.Response.FromString(self.message.payload)

    @property
    def status(self) -> int:
        return self.response.status if self.completed else m.STATUS_ERROR

    @property
    def payload(self) -> bytes:
        return self.response.payload

    @property
    def error(self) -> str:
        if self.completed:
            return self.response.message
        return self.message.payload.decode()


class FakePeer:
    """An in-memory peer for one handler: handshake, transactions, world state.

    Each transaction is stamped one second after the previous (from 2026-01-01T00:00:00Z), as
    its proposal's time stamp; a committed write records that time in the key's history, as
    Fabric's history database does.
    """

    def __init__(
        self,
        chaincode: Chaincode,
        *,
        chaincode_id: str = "smoke:0",
        channel_id: str = "ch1",
        params: m.PeerParams | None = None,
        workers: int = 4,
        creator: bytes | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.outbox: queue.Queue[m.ChaincodeMessage] = queue.Queue()
        self.executor = ThreadPoolExecutor(max_workers=workers)
        self.handler = ChaincodeHandler(
            chaincode, chaincode_id, self.outbox.put, self.executor, reply_timeout=10
        )
        self.params = params or m.PeerParams()
        self.creator = creator if creator is not None else make_creator()
        self.state: dict[tuple[str, str], bytes] = {}
        self.state_metadata: dict[tuple[str, str], dict[str, bytes]] = {}
        self.history: dict[str, list[kv_query_result_pb2.KeyModification]] = {}
        self._iterators: dict[str, tuple[list[bytes], shim.QueryResponseMetadata | None]] = {}
        self.clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self._timestamps: dict[str, dt.datetime] = {}

    # ---- plumbing ---------------------------------------------------------------------

    def __enter__(self) -> FakePeer:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.handler.close()
        self.executor.shutdown(wait=True, cancel_futures=True)

    def receive(self, timeout: float = 5.0) -> m.ChaincodeMessage:
        return self.outbox.get(timeout=timeout)

    def connect(self) -> None:
        self.handler.start()
        register = self.receive()
        if register.type != m.REGISTER:
            raise AssertionError(
                f"expected REGISTER first, got {m.message_type_name(register.type)}"
            )
        self.handler.handle(m.ChaincodeMessage(type=m.REGISTERED))
        self.handler.handle(
            m.ChaincodeMessage(type=m.READY, payload=m.encode_peer_params(self.params))
        )

    def transaction_message(
        self,
        *args: str | bytes,
        txid: str | None = None,
        transient: Mapping[str, bytes] | None = None,
        creator: bytes | None = None,
        msg_type: int = m.TRANSACTION,
    ) -> m.ChaincodeMessage:
        raw = [a.encode() if isinstance(a, str) else a for a in args]
        txid = txid or uuid.uuid4().hex
        self.clock += dt.timedelta(seconds=1)
        self._timestamps[txid] = self.clock
        proposal = make_signed_proposal(
            channel_id=self.channel_id,
            txid=txid,
            args=raw,
            creator=creator or self.creator,
            transient=transient,
            timestamp=self.clock,
        )
        return m.ChaincodeMessage(
            type=msg_type,
            payload=m.ChaincodeInput(args=raw).SerializeToString(),
            txid=txid,
            channel_id=self.channel_id,
            proposal=proposal,
        )

    def invoke(self, *args: str | bytes, commit: bool = True, **kwargs: object) -> Outcome:
        """Run one transaction to its end, answering its requests from the world state; its
        writes are committed when it succeeds, unless `commit=False` (an evaluate)."""
        msg = self.transaction_message(*args, **kwargs)  # type: ignore[arg-type]
        simulation = Simulation()
        requests: list[m.ChaincodeMessage] = []
        self.handler.handle(msg)
        while True:
            out = self.receive()
            if out.txid != msg.txid:
                raise AssertionError(f"message for unexpected tx {out.txid}")
            if out.type in (m.COMPLETED, m.ERROR):
                succeeded = out.type == m.COMPLETED and (
                    m.Response.FromString(out.payload).status == 200
                )
                when = self._timestamps.pop(msg.txid, self.clock)
                if succeeded and commit:
                    self._commit(msg.txid, when, simulation)
                return Outcome(out, requests)
            requests.append(out)
            self.handler.handle(self.answer(out, simulation))

    # ---- the peer's side of each request ----------------------------------------------

    def answer(self, request: m.ChaincodeMessage, sim: Simulation) -> m.ChaincodeMessage:
        try:
            payload = self._serve(request, sim)
        except LookupError as exc:
            return m.ChaincodeMessage(
                type=m.ERROR,
                payload=str(exc).encode(),
                txid=request.txid,
                channel_id=request.channel_id,
            )
        return m.ChaincodeMessage(
            type=m.RESPONSE, payload=payload, txid=request.txid, channel_id=request.channel_id
        )

    def _serve(self, request: m.ChaincodeMessage, sim: Simulation) -> bytes:
        t, p = request.type, request.payload
        if t == m.GET_STATE or t == m.GET_PRIVATE_DATA_HASH:
            get = shim.GetState.FromString(p)
            value = self.state.get((get.collection, get.key), b"")
            return (
                hashlib.sha256(value).digest() if t == m.GET_PRIVATE_DATA_HASH and value else value
            )
        if t == m.PUT_STATE:
            put = shim.PutState.FromString(p)
            sim.writes[(put.collection, put.key)] = put.value
            return b""
        if t == m.DEL_STATE or t == m.PURGE_PRIVATE_DATA:
            delete = shim.DelState.FromString(p)
            sim.writes[(delete.collection, delete.key)] = None
            return b""
        if t == m.WRITE_BATCH_STATE:
            for rec in shim.WriteBatchState.FromString(p).rec:
                if rec.type == shim.WriteRecord.PUT_STATE:
                    sim.writes[(rec.collection, rec.key)] = rec.value
                elif rec.type == shim.WriteRecord.PUT_STATE_METADATA:
                    entry = sim.metadata.setdefault((rec.collection, rec.key), {})
                    entry[rec.metadata.metakey] = rec.metadata.value
                else:
                    sim.writes[(rec.collection, rec.key)] = None
            return b""
        if t == m.GET_STATE_MULTIPLE:
            multi = shim.GetStateMultiple.FromString(p)
            values = [self.state.get((multi.collection, k), b"") for k in multi.keys]
            return shim.GetStateMultipleResult(values=values).SerializeToString()
        if t == m.PUT_STATE_METADATA:
            put_md = shim.PutStateMetadata.FromString(p)
            entry = sim.metadata.setdefault((put_md.collection, put_md.key), {})
            entry[put_md.metadata.metakey] = put_md.metadata.value
            return b""
        if t == m.GET_STATE_METADATA:
            get_md = shim.GetStateMetadata.FromString(p)
            entries = self.state_metadata.get((get_md.collection, get_md.key), {})
            result = shim.StateMetadataResult(
                entries=[shim.StateMetadata(metakey=k, value=v) for k, v in entries.items()]
            )
            return result.SerializeToString()
        if t == m.GET_STATE_BY_RANGE:
            return self._range(request.txid, shim.GetStateByRange.FromString(p))
        if t == m.QUERY_STATE_NEXT:
            return self._next_batch(shim.QueryStateNext.FromString(p).id)
        if t == m.QUERY_STATE_CLOSE:
            self._iterators.pop(shim.QueryStateClose.FromString(p).id, None)
            return shim.QueryResponse().SerializeToString()
        if t == m.GET_HISTORY_FOR_KEY:
            key = shim.GetHistoryForKey.FromString(p).key
            records = [h.SerializeToString() for h in reversed(self.history.get(key, []))]
            return self._start_iterator(request.txid, records, None)
        if t == m.INVOKE_CHAINCODE:
            spec = m.ChaincodeSpec.FromString(p)
            raise LookupError(f"chaincode {spec.chaincode_id.name} is not installed on FakePeer")
        raise LookupError(f"FakePeer does not serve {m.message_type_name(t)}")

    def _range(self, txid: str, query: shim.GetStateByRange) -> bytes:
        keys = sorted(
            k
            for (c, k) in self.state
            if c == query.collection
            and k >= query.startKey
            and (not query.endKey or k < query.endKey)
        )
        page: shim.QueryMetadata | None = None
        if query.metadata:
            page = shim.QueryMetadata.FromString(query.metadata)
            if page.bookmark:
                keys = [k for k in keys if k >= page.bookmark]
        bookmark = ""
        if page is not None and len(keys) > page.pageSize:
            bookmark = keys[page.pageSize]
            keys = keys[: page.pageSize]
        records = [
            kv_query_result_pb2.KV(
                namespace="cc", key=k, value=self.state[(query.collection, k)]
            ).SerializeToString()
            for k in keys
        ]
        meta = None
        if page is not None:
            meta = shim.QueryResponseMetadata(fetched_records_count=len(keys), bookmark=bookmark)
        return self._start_iterator(txid, records, meta)

    def _start_iterator(
        self, txid: str, records: list[bytes], meta: shim.QueryResponseMetadata | None
    ) -> bytes:
        iterator_id = f"{txid}-{uuid.uuid4().hex[:8]}"
        self._iterators[iterator_id] = (records, meta)
        return self._next_batch(iterator_id)

    def _next_batch(self, iterator_id: str) -> bytes:
        """Up to RESULTS_PER_BATCH results; a paginated query's metadata rides on the last."""
        if iterator_id not in self._iterators:
            raise LookupError(f"query iterator {iterator_id} is not open")
        records, meta = self._iterators[iterator_id]
        batch, rest = records[:RESULTS_PER_BATCH], records[RESULTS_PER_BATCH:]
        response = shim.QueryResponse(
            results=[shim.QueryResultBytes(resultBytes=r) for r in batch],
            has_more=bool(rest),
            id=iterator_id,
        )
        if rest:
            self._iterators[iterator_id] = (rest, meta)
        else:
            del self._iterators[iterator_id]
            if meta is not None:
                response.metadata = meta.SerializeToString()
        return response.SerializeToString()

    def _commit(self, txid: str, when: dt.datetime, sim: Simulation) -> None:
        for (collection, key), value in sim.writes.items():
            if value is None:
                self.state.pop((collection, key), None)
            else:
                self.state[(collection, key)] = value
            if not collection:
                mod = kv_query_result_pb2.KeyModification(
                    tx_id=txid, value=value or b"", is_delete=value is None
                )
                mod.timestamp.FromDatetime(when)
                self.history.setdefault(key, []).append(mod)
        for location, entries in sim.metadata.items():
            self.state_metadata.setdefault(location, {}).update(entries)


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_tls_files(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A throw-away TLS CA with a server certificate (SANs host, localhost) and a client one."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tlsca.test")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(name: str, server: bool) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.ExtendedKeyUsageOID.SERVER_AUTH, x509.ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_cert, server_key = leaf("chaincode.test", server=True)
    client_cert, client_key = leaf("peer0.test", server=False)
    files.server_cert.write_bytes(server_cert)
    files.server_key.write_bytes(server_key)
    files.client_cert.write_bytes(client_cert)
    files.client_key.write_bytes(client_key)
    return files
