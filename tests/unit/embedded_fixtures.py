"""Shared builders for the embedded ledger-core tests: identities, endorsed transactions, blocks.

Uses the integrator's real crypto layout and genesis config (network.identities/configtx), so the
tests exercise the same MSPs, NodeOUs and policies the sandbox runs with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    collection_pb2,
    proposal_pb2,
    proposal_response_pb2,
)

from network.configtx import build_genesis_block
from network.embedded import policydsl, protoutil
from network.embedded.blockfactory import BlockFactory
from network.embedded.ledger import PeerLedger
from network.embedded.lifecycle import ChaincodeDefinition
from network.embedded.msp import SigningIdentity, load_signing_identity
from network.embedded.rwset import TxSimulator
from network.identities import CryptoLayout
from network.topology import Topology

CHANNEL = "bsp1-channel"
CC = "smoke"


@dataclass
class Chain:
    topology: Topology
    layout: CryptoLayout
    channel: str = CHANNEL
    _genesis: common_pb2.Block | None = None
    _ids: dict[tuple[str, str], SigningIdentity] = field(default_factory=dict)

    @property
    def genesis(self) -> common_pb2.Block:
        if self._genesis is None:
            self._genesis = build_genesis_block(self.topology, self.channel, self.layout.root)
        return self._genesis

    def msp_id(self, org_key: str) -> str:
        return self.topology.orgs[org_key].msp_id

    def user(self, org_key: str, name: str = "User1") -> SigningIdentity:
        key = (org_key, name)
        if key not in self._ids:
            d = self.layout.user_dir(org_key, name)
            self._ids[key] = load_signing_identity(self.msp_id(org_key), d / "msp")
        return self._ids[key]

    def peer(self, org_key: str) -> SigningIdentity:
        key = (org_key, "peer0")
        if key not in self._ids:
            org = self.topology.orgs[org_key]
            host = f"peer0.{org.domain}"
            d = self.layout.node_dir(org_key, host)
            self._ids[key] = load_signing_identity(org.msp_id, d / "msp")
        return self._ids[key]

    def orderer(self) -> SigningIdentity:
        key = ("orderer", "orderer0")
        if key not in self._ids:
            org = self.topology.orgs["orderer"]
            d = self.layout.node_dir("orderer", f"orderer0.{org.domain}")
            self._ids[key] = load_signing_identity(org.msp_id, d / "msp")
        return self._ids[key]

    def open_ledger(self, path: Path, **kwargs: object) -> PeerLedger:
        return PeerLedger.open(path, self.channel, self.genesis, **kwargs)

    def factory(self, ledger: PeerLedger) -> BlockFactory:
        return BlockFactory(self.channel, self.orderer(), ledger.get_block(ledger.height - 1))


def smoke_definition(
    policy: str = "OR('TSOMSP.peer', 'BSPHostMSP.peer', 'DSOHostMSP.peer')",
    collections: dict[str, str] | None = None,
) -> ChaincodeDefinition:
    pkg = None
    if collections:
        pkg = collection_pb2.CollectionConfigPackage(
            config=[
                collection_pb2.CollectionConfig(
                    static_collection_config=collection_pb2.StaticCollectionConfig(
                        name=name,
                        member_orgs_policy=collection_pb2.CollectionPolicyConfig(
                            signature_policy=policydsl.from_string(members)
                        ),
                        maximum_peer_count=1,
                    )
                )
                for name, members in collections.items()
            ]
        )
    return ChaincodeDefinition(
        name=CC,
        version="1.0",
        sequence=1,
        endorsement_policy=policydsl.from_string(policy),
        collections=pkg,
    )


@dataclass
class Endorsed:
    envelope: bytes
    txid: str
    private: rwset_pb2.TxPvtReadWriteSet | None


def endorse(
    ledger: PeerLedger,
    creator: SigningIdentity,
    endorsers: list[SigningIdentity],
    simulate: Callable[[TxSimulator], None],
    *,
    chaincode: str = CC,
    channel: str = CHANNEL,
    event: tuple[str, bytes] | None = None,
    nonce: bytes | None = None,
) -> Endorsed:
    """Simulate on `ledger`, have each endorser sign the same response, assemble the tx."""
    prop, txid = protoutil.create_proposal(
        creator.serialize(), channel, chaincode, [b"fn"], nonce=nonce
    )
    hdr = common_pb2.Header.FromString(prop.header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(prop.payload)
    sim = ledger.new_tx_simulator(txid)
    simulate(sim)
    results = sim.results()
    action = proposal_pb2.ChaincodeAction(
        results=results.public_bytes(),
        response=proposal_response_pb2.Response(status=200, payload=b"ok"),
    )
    action.chaincode_id.name = chaincode
    action.chaincode_id.version = "1.0"
    if event is not None:
        action.events = chaincode_event_pb2.ChaincodeEvent(
            chaincode_id=chaincode, tx_id=txid, event_name=event[0], payload=event[1]
        ).SerializeToString()
    prp = protoutil.create_proposal_response_payload(protoutil.proposal_hash(hdr, cpp), action)
    responses = [
        proposal_response_pb2.ProposalResponse(
            version=1,
            response=proposal_response_pb2.Response(status=200, payload=b"ok"),
            payload=prp,
            endorsement=proposal_response_pb2.Endorsement(
                endorser=p.serialize(), signature=p.sign(prp + p.serialize())
            ),
        )
        for p in endorsers
    ]
    env = protoutil.create_signed_tx(prop, responses, creator.sign)
    return Endorsed(env.SerializeToString(), txid, results.private)


def make_cert(
    *,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_name: x509.Name,
    subject_cn: str,
    ou: str | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if ou:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(issuer_name if not ca else x509.Name(attrs))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key if ca else issuer_key, hashes.SHA256())
    )
    return cert, key


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
