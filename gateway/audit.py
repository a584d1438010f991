"""Independent verification of a channel's chain of blocks, as pure functions on `common.Block`.

Checked for every block, on the client, trusting nothing the peer says about it:

- data hash: SHA-256 of the concatenated `block.data.data` entries equals `header.data_hash`;
- chain link: `header.previous_hash` equals the hash of the previous block's header, where a
  header's hash is SHA-256 of the ASN.1 DER `SEQUENCE {INTEGER number, OCTET STRING
  previous_hash, OCTET STRING data_hash}` (Fabric's `protoutil.BlockHeaderHash`);
- numbering: block numbers run on without gaps;
- orderer signatures (when the orderer organisations' CA certificates are known, e.g. read from
  the genesis config block with `orderer_ca_certificates`): each `MetadataSignature` in the
  SIGNATURES metadata signs `value || signature_header || header bytes`, by an identity of an
  orderer MSP whose certificate was issued by that MSP's CA.

The genesis block is not signed by any orderer (configtxgen writes it), so block 0 needs none.
Functions return data (`ChainReport`); printing belongs to the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2

from gateway.errors import ProtocolError
from gateway.signing import verify_signature


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_integer(value: int) -> bytes:
    # Two's complement, minimal length; block numbers are unsigned so a 0x00 pad may lead.
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)
    return b"\x02" + _der_length(len(body)) + body


def _der_octets(value: bytes) -> bytes:
    return b"\x04" + _der_length(len(value)) + value


def block_header_bytes(header: Any) -> bytes:
    """Fabric's ASN.1 DER encoding of a block header (what is hashed and signed)."""
    body = (
        _der_integer(int(header.number))
        + _der_octets(bytes(header.previous_hash))
        + _der_octets(bytes(header.data_hash))
    )
    return b"\x30" + _der_length(len(body)) + body


def block_header_hash(header: Any) -> bytes:
    return hashlib.sha256(block_header_bytes(header)).digest()


def block_data_hash(data: Any) -> bytes:
    """SHA-256 of the concatenation of the block's data entries (Fabric v2 and later)."""
    h = hashlib.sha256()
    for entry in data.data:
        h.update(entry)
    return h.digest()


@dataclass(frozen=True)
class BlockFinding:
    """One broken rule in one block."""

    block_number: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"block {self.block_number}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying a run of blocks."""

    first_block: int | None
    last_block: int | None
    blocks_checked: int
    signatures_checked: int
    findings: tuple[BlockFinding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def bad_blocks(self) -> tuple[int, ...]:
        return tuple(sorted({f.block_number for f in self.findings}))


def _parse(cls: Any, data: bytes, what: str) -> Any:
    msg = cls()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError
        raise ProtocolError(f"{what} does not decode as {cls.__name__}: {exc}") from exc
    return msg


def config_from_block(block: Any) -> Any:
    """The `common.Config` carried by a config block (genesis or later config update)."""
    if len(block.data.data) != 1:
        raise ProtocolError(f"block {block.header.number} is not a config block (one envelope)")
    env = _parse(common_pb2.Envelope, block.data.data[0], "config block envelope")
    payload = _parse(common_pb2.Payload, env.payload, "config envelope payload")
    ch = _parse(common_pb2.ChannelHeader, payload.header.channel_header, "channel header")
    if ch.type != common_pb2.CONFIG:
        raise ProtocolError(f"block {block.header.number} carries a type {ch.type} envelope")
    return _parse(configtx_pb2.ConfigEnvelope, payload.data, "config envelope").config


def is_config_block(block: Any) -> bool:
    try:
        config_from_block(block)
    except ProtocolError:
        return False
    return True


def orderer_ca_certificates(config_block: Any) -> dict[str, list[x509.Certificate]]:
    """Root and intermediate CA certificates of every orderer org, by MSP id."""
    return _ca_certificates(config_block, "Orderer")


def member_ca_certificates(config_block: Any) -> dict[str, list[x509.Certificate]]:
    """Root and intermediate CA certificates of every application org (the channel's
    members), by MSP id."""
    return _ca_certificates(config_block, "Application")


def _ca_certificates(config_block: Any, group_name: str) -> dict[str, list[x509.Certificate]]:
    config = config_from_block(config_block)
    group = config.channel_group.groups.get(group_name)
    if group is None:
        raise ProtocolError(f"channel config has no {group_name} group")
    result: dict[str, list[x509.Certificate]] = {}
    for org in group.groups.values():
        msp_value = org.values.get("MSP")
        if msp_value is None:
            continue
        msp = _parse(msp_config_pb2.MSPConfig, msp_value.value, "MSP config")
        fabric = _parse(msp_config_pb2.FabricMSPConfig, msp.config, "Fabric MSP config")
        certs = [
            x509.load_pem_x509_certificate(bytes(pem))
            for pem in [*fabric.root_certs, *fabric.intermediate_certs]
        ]
        result[fabric.name] = certs
    return result


def issued_by(cert: x509.Certificate, cas: Iterable[x509.Certificate]) -> bool:
    for ca in cas:
        if cert.issuer != ca.subject:
            continue
        pub = ca.public_key()
        if not isinstance(pub, ec.EllipticCurvePublicKey):
            continue
        algorithm = cert.signature_hash_algorithm or hashes.SHA256()
        try:
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        except InvalidSignature:
            continue
        return True
    return False


def check_block_signatures(
    block: Any, orderer_cas: Mapping[str, Sequence[x509.Certificate]]
) -> tuple[int, list[BlockFinding]]:
    """Verify the orderer signatures on one block; returns (valid signatures, findings)."""
    number = int(block.header.number)
    findings: list[BlockFinding] = []
    meta = block.metadata.metadata
    raw = meta[common_pb2.SIGNATURES] if len(meta) > common_pb2.SIGNATURES else b""
    metadata = _parse(common_pb2.Metadata, raw, f"block {number} signatures metadata")
    if not metadata.signatures:
        return 0, [BlockFinding(number, "orderer-signature", "block carries no orderer signature")]
    header_bytes = block_header_bytes(block.header)
    valid = 0
    for i, sig in enumerate(metadata.signatures):
        if not sig.signature_header:
            findings.append(
                BlockFinding(
                    number,
                    "orderer-signature",
                    f"signature {i} has no signature header (BFT identifier headers need the "
                    "consenter set, not checked here)",
                )
            )
            continue
        sh = _parse(common_pb2.SignatureHeader, sig.signature_header, "signature header")
        sid = _parse(identities_pb2.SerializedIdentity, sh.creator, "signer identity")
        cas = orderer_cas.get(sid.mspid)
        if cas is None:
            findings.append(
                BlockFinding(
                    number,
                    "orderer-signature",
                    f"signature {i} is by {sid.mspid}, which is not an orderer org of the channel "
                    f"({', '.join(sorted(orderer_cas)) or 'none known'})",
                )
            )
            continue
        try:
            cert = x509.load_pem_x509_certificate(bytes(sid.id_bytes))
        except ValueError:
            findings.append(
                BlockFinding(number, "orderer-signature", f"signature {i}: signer cert invalid")
            )
            continue
        if not issued_by(cert, cas):
            findings.append(
                BlockFinding(
                    number,
                    "orderer-signature",
                    f"signature {i}: signer {cert.subject.rfc4514_string()} was not issued by "
                    f"a CA of {sid.mspid}",
                )
            )
            continue
        message = bytes(metadata.value) + bytes(sig.signature_header) + header_bytes
        pub = cert.public_key()
        if not isinstance(pub, ec.EllipticCurvePublicKey) or not verify_signature(
            pub, message, bytes(sig.signature)
        ):
            findings.append(
                BlockFinding(
                    number,
                    "orderer-signature",
                    f"signature {i} by {cert.subject.rfc4514_string()} does not verify over "
                    "value || signature_header || header",
                )
            )
            continue
        valid += 1
    return valid, findings


def verify_chain(
    blocks: Iterable[Any],
    *,
    orderer_cas: Mapping[str, Sequence[x509.Certificate]] | None = None,
    previous_header_hash: bytes | None = None,
) -> ChainReport:
    """Verify a run of consecutive blocks (not necessarily from block 0).

    `previous_header_hash` anchors the first block when the run starts after block 0. With
    `orderer_cas` None and the run starting at block 0, the CAs are read from the genesis block;
    pass `{}` to skip signature checks. Config blocks later in the run update the CAs.
    """
    findings: list[BlockFinding] = []
    first: int | None = None
    last: int | None = None
    prev_hash = previous_header_hash
    prev_number: int | None = None
    count = 0
    signatures = 0
    cas: Mapping[str, Sequence[x509.Certificate]] | None = orderer_cas
    check_signatures = orderer_cas is None or bool(orderer_cas)
    for block in blocks:
        count += 1
        number = int(block.header.number)
        first = number if first is None else first
        last = number
        if prev_number is not None and number != prev_number + 1:
            findings.append(
                BlockFinding(
                    number,
                    "numbering",
                    f"follows block {prev_number}; expected block {prev_number + 1}",
                )
            )
        data_hash = block_data_hash(block.data)
        if data_hash != bytes(block.header.data_hash):
            findings.append(
                BlockFinding(
                    number,
                    "data-hash",
                    f"header data_hash {bytes(block.header.data_hash).hex()} but the block's "
                    f"data hashes to {data_hash.hex()}",
                )
            )
        if number == 0 and bytes(block.header.previous_hash):
            findings.append(
                BlockFinding(0, "previous-hash", "the genesis block must have no previous hash")
            )
        if prev_hash is not None and bytes(block.header.previous_hash) != prev_hash:
            findings.append(
                BlockFinding(
                    number,
                    "previous-hash",
                    f"previous_hash {bytes(block.header.previous_hash).hex()} does not match "
                    f"the hash {prev_hash.hex()} of block {number - 1}'s header",
                )
            )
        if check_signatures and number > 0:
            if cas is None:
                findings.append(
                    BlockFinding(
                        number,
                        "orderer-signature",
                        "orderer CAs unknown: start from block 0 or pass orderer_cas",
                    )
                )
            else:
                valid, sig_findings = check_block_signatures(block, cas)
                signatures += valid
                findings += sig_findings
        if check_signatures and is_config_block(block):
            try:
                cas = orderer_ca_certificates(block)
            except ProtocolError as exc:
                findings.append(BlockFinding(number, "config", str(exc)))
        prev_hash = block_header_hash(block.header)
        prev_number = number
    return ChainReport(
        first_block=first,
        last_block=last,
        blocks_checked=count,
        signatures_checked=signatures,
        findings=tuple(findings),
    )


def read_block_file(data: bytes) -> Any:
    """A `common.Block` from its serialized bytes (e.g. `channel-artifacts/<channel>.block`)."""
    return _parse(common_pb2.Block, data, "block file")
