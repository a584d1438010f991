"""X.509 membership service providers, following Fabric's `msp/mspimpl.go` rules.

An identity is valid when its certificate chains to one of its MSP's root CAs (optionally through
intermediates), every certificate in the chain is within its validity period, the leaf is not a CA,
and, with NodeOUs enabled, it carries exactly one of the client/peer/admin/orderer OUs. Signatures
are ECDSA over SHA-256; high-S signatures are refused as Fabric refuses them (malleability).

Deserialised identities are cached by their serialised bytes, so a committer verifying 500
transactions from one client parses and chains that certificate once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2, msp_config_pb2, msp_principal_pb2

from network import yamlio

log = logging.getLogger(__name__)

Role = msp_principal_pb2.MSPRole
Classification = msp_principal_pb2.MSPPrincipal

_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}

_ROLE_NAMES = {
    Role.MEMBER: "member",
    Role.ADMIN: "admin",
    Role.CLIENT: "client",
    Role.PEER: "peer",
    Role.ORDERER: "orderer",
}


# Signatures that verified, shared by every ledger in the process: the peers of one channel all
# validate the same block, and a (key, digest, signature) triple that verified once always will.
_VERIFIED: dict[tuple[bytes, bytes, bytes], None] = {}
_VERIFIED_MAX = 1 << 14  # ~3 MB; a few blocks of 500 tx with their endorsements
_VERIFIED_LOCK = threading.Lock()


def _remember_verified(key: tuple[bytes, bytes, bytes]) -> None:
    with _VERIFIED_LOCK:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            # Drop the oldest half; dicts keep insertion order.
            for old in list(_VERIFIED)[: _VERIFIED_MAX // 2]:
                del _VERIFIED[old]
        _VERIFIED[key] = None


_ROLE_CACHE: dict[bytes, tuple[str, str | None]] = {}


def _parse_role(raw: bytes) -> tuple[str, str | None]:
    """(MSP ID, role name) of a ROLE principal; policies repeat a handful of principals."""
    hit = _ROLE_CACHE.get(raw)
    if hit is None:
        role = msp_principal_pb2.MSPRole.FromString(raw)
        hit = (role.msp_identifier, _ROLE_NAMES.get(role.role))
        if len(_ROLE_CACHE) < 4096:
            _ROLE_CACHE[raw] = hit
    return hit


class MSPError(ValueError):
    """An identity is unknown, malformed or invalid; the message names the rule it broke."""


@dataclass(frozen=True)
class _Scheme:
    """How one curve signs and verifies. Made once per curve: building these on every signature
    and verification showed in the engine's profile (about 2 % of its time under load)."""

    digest: Callable[[bytes], Any]  # hashlib constructor of the curve's hash
    sign: ec.ECDSA
    verify: ec.ECDSA  # over a digest already computed


_SCHEMES = {
    "secp256r1": _Scheme(
        hashlib.sha256, ec.ECDSA(hashes.SHA256()), ec.ECDSA(Prehashed(hashes.SHA256()))
    ),
    "secp384r1": _Scheme(
        hashlib.sha384, ec.ECDSA(hashes.SHA384()), ec.ECDSA(Prehashed(hashes.SHA384()))
    ),
}


def _scheme(curve: ec.EllipticCurve) -> _Scheme:
    """SHA-384 on P-384, SHA-256 on every other curve."""
    return _SCHEMES.get(curve.name, _SCHEMES["secp256r1"])


def is_low_s(curve: ec.EllipticCurve, signature: bytes) -> bool:
    order = _CURVE_ORDERS.get(curve.name)
    if order is None:
        return True
    _, s = decode_dss_signature(signature)
    return s <= order >> 1


def to_low_s(curve: ec.EllipticCurve, signature: bytes) -> bytes:
    order = _CURVE_ORDERS[curve.name]
    r, s = decode_dss_signature(signature)
    if s > order >> 1:
        s = order - s
    return encode_dss_signature(r, s)


def _load_certs(pems: Iterable[bytes]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for pem in pems:
        out.extend(x509.load_pem_x509_certificates(pem))
    return out


def _ous(cert: x509.Certificate) -> list[str]:
    return [
        str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


@dataclass(frozen=True, slots=True)
class _NodeOUs:
    enabled: bool = False
    client: str = ""
    peer: str = ""
    admin: str = ""
    orderer: str = ""


class MSP:
    """One organisation's verifying MSP built from its FabricMSPConfig."""

    def __init__(self, config: msp_config_pb2.FabricMSPConfig) -> None:
        self.msp_id = config.name
        self.config = config
        self.roots = _load_certs(config.root_certs)
        self.intermediates = _load_certs(config.intermediate_certs)
        if not self.roots:
            raise MSPError(f"MSP {self.msp_id} has no root CA certificate")
        self.admin_certs = {
            c.public_bytes(serialization.Encoding.DER) for c in _load_certs(config.admins)
        }
        self._revoked: set[tuple[bytes, int]] = set()
        for crl_pem in config.revocation_list:
            crl = x509.load_pem_x509_crl(crl_pem)
            issuer = crl.issuer.public_bytes()
            for rev in crl:
                self._revoked.add((issuer, rev.serial_number))
        n = config.fabric_node_ous
        self.node_ous = _NodeOUs(
            enabled=n.enable,
            client=n.client_ou_identifier.organizational_unit_identifier,
            peer=n.peer_ou_identifier.organizational_unit_identifier,
            admin=n.admin_ou_identifier.organizational_unit_identifier,
            orderer=n.orderer_ou_identifier.organizational_unit_identifier,
        )
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for c in self.roots + self.intermediates:
            self._by_subject.setdefault(c.subject.public_bytes(), []).append(c)
        self._root_der = {c.public_bytes(serialization.Encoding.DER) for c in self.roots}

    def _issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        for cand in self._by_subject.get(cert.issuer.public_bytes(), []):
            try:
                cert.verify_directly_issued_by(cand)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return cand
        return None

    def chain_of(self, cert: x509.Certificate, at: float | None = None) -> list[x509.Certificate]:
        """The certification chain leaf..root, or MSPError saying why there is none."""
        now = at if at is not None else time.time()
        chain = [cert]
        current = cert
        for _ in range(10):
            if current.public_bytes(serialization.Encoding.DER) in self._root_der:
                break
            issuer = self._issuer_of(current)
            if issuer is None:
                raise MSPError(
                    f"certificate {cert.subject.rfc4514_string()} does not chain to a CA of "
                    f"MSP {self.msp_id}: no issuer {current.issuer.rfc4514_string()} verifies it"
                )
            chain.append(issuer)
            current = issuer
        else:
            raise MSPError(f"certificate chain of {cert.subject.rfc4514_string()} is too long")
        for c in chain:
            if not (c.not_valid_before_utc.timestamp() <= now <= c.not_valid_after_utc.timestamp()):
                raise MSPError(
                    f"certificate {c.subject.rfc4514_string()} of MSP {self.msp_id} is outside "
                    f"its validity period ({c.not_valid_before_utc} to {c.not_valid_after_utc})"
                )
        for child, parent in zip(chain, chain[1:], strict=False):
            if (parent.subject.public_bytes(), child.serial_number) in self._revoked:
                raise MSPError(
                    f"certificate {child.subject.rfc4514_string()} of MSP {self.msp_id} is revoked"
                )
        return chain

    def roles_of(self, cert: x509.Certificate) -> frozenset[str]:
        roles = {"member"}
        if self.node_ous.enabled:
            ous = set(_ous(cert))
            for name in ("client", "peer", "admin", "orderer"):
                ou = getattr(self.node_ous, name)
                if ou and ou in ous:
                    roles.add(name)
        if cert.public_bytes(serialization.Encoding.DER) in self.admin_certs:
            roles.add("admin")
        return frozenset(roles)

    def validate_cert(self, cert: x509.Certificate, at: float | None = None) -> None:
        if _is_ca(cert):
            raise MSPError(
                f"certificate {cert.subject.rfc4514_string()} is a CA certificate; "
                "a CA cannot be used as an identity"
            )
        self.chain_of(cert, at)
        if self.node_ous.enabled:
            ous = set(_ous(cert))
            matched = [
                n
                for n in ("client", "peer", "admin", "orderer")
                if getattr(self.node_ous, n) and getattr(self.node_ous, n) in ous
            ]
            if len(matched) != 1:
                raise MSPError(
                    f"identity {cert.subject.rfc4514_string()} of MSP {self.msp_id} must carry "
                    f"exactly one of the NodeOUs client, peer, admin, orderer; it has {matched}"
                )


class Identity:
    """A deserialised X.509 identity of one MSP."""

    __slots__ = (
        "msp",
        "msp_id",
        "certificate",
        "serialized",
        "roles",
        "_valid_until",
        "_error",
        "_pubkey",
    )

    def __init__(self, msp: MSP, certificate: x509.Certificate, serialized: bytes) -> None:
        self.msp = msp
        self.msp_id = msp.msp_id
        self.certificate = certificate
        self.serialized = serialized
        self.roles = msp.roles_of(certificate)
        self._valid_until = 0.0
        self._error: MSPError | None = None
        self._pubkey: ec.EllipticCurvePublicKey | None = None

    def __repr__(self) -> str:
        return f"Identity({self.msp_id}, {self.certificate.subject.rfc4514_string()})"

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        if self._pubkey is None:
            key = self.certificate.public_key()
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise MSPError(f"identity {self!r} has a non-ECDSA key; Fabric's MSP accepts ECDSA")
            self._pubkey = key
        return self._pubkey

    def validate(self) -> None:
        """Raise MSPError if invalid now; either outcome is cached for up to a minute."""
        now = time.time()
        if now < self._valid_until:
            if self._error is not None:
                raise self._error
            return
        try:
            self.msp.validate_cert(self.certificate, now)
        except MSPError as exc:
            # A not-yet-valid certificate may become valid: refusals are re-checked too.
            self._error = exc
            self._valid_until = now + 60.0
            raise
        self._error = None
        # Re-check once a minute so expiry is noticed without re-validating per transaction.
        self._valid_until = min(now + 60.0, self.certificate.not_valid_after_utc.timestamp())

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            key = self.public_key
            curve = key.curve
            scheme = _scheme(curve)
            digest = scheme.digest(message).digest()
            cache_key = (self.serialized, digest, signature)
            if cache_key in _VERIFIED:
                return True
            if not is_low_s(curve, signature):
                return False
            key.verify(signature, digest, scheme.verify)
        except (InvalidSignature, ValueError, MSPError):
            return False
        _remember_verified(cache_key)
        return True

    def mark_verified(self, message: bytes, signature: bytes) -> None:
        """Record that this identity's `signature` over `message` verified, as another
        process of the engine found (it checked it before handing the message over)."""
        digest = _scheme(self.public_key.curve).digest(message).digest()
        _remember_verified((self.serialized, digest, signature))

    def satisfies_principal(self, principal: msp_principal_pb2.MSPPrincipal) -> bool:
        try:
            return self._satisfies(principal)
        except MSPError:
            return False

    def _satisfies(self, principal: msp_principal_pb2.MSPPrincipal) -> bool:
        cls = principal.principal_classification
        if cls == Classification.ROLE:
            msp_id, name = _parse_role(principal.principal)
            if msp_id != self.msp_id:
                return False
            self.validate()
            if name is None:
                return False
            if name in ("client", "peer", "orderer") and not self.msp.node_ous.enabled:
                return False
            return name in self.roles
        if cls == Classification.IDENTITY:
            return principal.principal == self.serialized and self._valid()
        if cls == Classification.ORGANIZATION_UNIT:
            ou = msp_principal_pb2.OrganizationUnit.FromString(principal.principal)
            return (
                ou.msp_identifier == self.msp_id
                and ou.organizational_unit_identifier in _ous(self.certificate)
                and self._valid()
            )
        if cls == Classification.COMBINED:
            combined = msp_principal_pb2.CombinedPrincipal.FromString(principal.principal)
            return all(self._satisfies(p) for p in combined.principals)
        if cls == Classification.ANONYMITY:
            anon = msp_principal_pb2.MSPIdentityAnonymity.FromString(principal.principal)
            return anon.anonymity_type == msp_principal_pb2.MSPIdentityAnonymity.NOMINAL
        return False

    def _valid(self) -> bool:
        self.validate()
        return True


class SigningIdentity(Identity):
    __slots__ = ("_key",)

    def __init__(
        self,
        msp: MSP,
        certificate: x509.Certificate,
        serialized: bytes,
        key: ec.EllipticCurvePrivateKey,
    ) -> None:
        super().__init__(msp, certificate, serialized)
        self._key = key

    def serialize(self) -> bytes:
        return self.serialized

    def sign(self, message: bytes) -> bytes:
        curve = self._key.curve
        sig = self._key.sign(message, _scheme(curve).sign)
        return to_low_s(curve, sig)


@dataclass
class MSPManager:
    """All MSPs of a channel, keyed by MSP ID, with a bounded identity cache."""

    msps: dict[str, MSP] = field(default_factory=dict)
    cache_size: int = 4096
    _cache: dict[bytes, Identity] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_msp_configs(cls, configs: Iterable[msp_config_pb2.MSPConfig]) -> MSPManager:
        msps: dict[str, MSP] = {}
        for cfg in configs:
            if cfg.type != 0:
                raise MSPError(f"MSP config type {cfg.type} is not supported; only FABRIC (0)")
            fabric_cfg = msp_config_pb2.FabricMSPConfig.FromString(cfg.config)
            msps[fabric_cfg.name] = MSP(fabric_cfg)
        return cls(msps=msps)

    def get(self, msp_id: str) -> MSP:
        msp = self.msps.get(msp_id)
        if msp is None:
            raise MSPError(f"MSP {msp_id} is not a member of this channel")
        return msp

    def deserialize_identity(self, serialized: bytes) -> Identity:
        cached = self._cache.get(serialized)
        if cached is not None:
            return cached
        try:
            sid = identities_pb2.SerializedIdentity.FromString(serialized)
        except Exception as exc:
            raise MSPError(f"serialized identity cannot be unmarshalled: {exc}") from exc
        msp = self.get(sid.mspid)
        try:
            cert = x509.load_pem_x509_certificate(sid.id_bytes)
        except ValueError as exc:
            raise MSPError(
                f"identity of MSP {sid.mspid} does not hold a PEM certificate: {exc}"
            ) from exc
        ident = Identity(msp, cert, serialized)
        with self._lock:
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[serialized] = ident
        return ident


# --- local MSP folders (cryptogen layout) ------------------------------------------------------


def _read_dir(path: Path) -> list[bytes]:
    if not path.is_dir():
        return []
    return [p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()]


def msp_config_from_dir(msp_id: str, msp_dir: Path) -> msp_config_pb2.MSPConfig:
    """A verifying MSPConfig from a cryptogen/Fabric-CA msp folder (Fabric's GetVerifyingMspConfig)."""
    msp_dir = Path(msp_dir)
    root_certs = _read_dir(msp_dir / "cacerts")
    if not root_certs:
        raise MSPError(f"MSP folder {msp_dir} has no cacerts; an MSP needs a root CA")
    fab = msp_config_pb2.FabricMSPConfig(
        name=msp_id,
        root_certs=root_certs,
        intermediate_certs=_read_dir(msp_dir / "intermediatecerts"),
        admins=_read_dir(msp_dir / "admincerts"),
        revocation_list=_read_dir(msp_dir / "crls"),
        tls_root_certs=_read_dir(msp_dir / "tlscacerts"),
        tls_intermediate_certs=_read_dir(msp_dir / "tlsintermediatecerts"),
        crypto_config=msp_config_pb2.FabricCryptoConfig(
            signature_hash_family="SHA2", identity_identifier_hash_function="SHA256"
        ),
    )
    cfg_file = msp_dir / "config.yaml"
    if cfg_file.is_file():
        doc = yamlio.safe_load(cfg_file.read_text()) or {}
        node_ous = doc.get("NodeOUs") or {}
        if node_ous.get("Enable"):
            fab.fabric_node_ous.enable = True
            for key, attr in (
                ("ClientOUIdentifier", "client_ou_identifier"),
                ("PeerOUIdentifier", "peer_ou_identifier"),
                ("AdminOUIdentifier", "admin_ou_identifier"),
                ("OrdererOUIdentifier", "orderer_ou_identifier"),
            ):
                spec = node_ous.get(key)
                if not spec:
                    continue
                target = getattr(fab.fabric_node_ous, attr)
                target.organizational_unit_identifier = spec.get("OrganizationalUnitIdentifier", "")
                if spec.get("Certificate"):
                    target.certificate = (msp_dir / spec["Certificate"]).read_bytes()
    return msp_config_pb2.MSPConfig(type=0, config=fab.SerializeToString())


def load_signing_identity(msp_id: str, msp_dir: Path) -> SigningIdentity:
    """The signing identity in a cryptogen msp folder: signcerts/ and keystore/."""
    msp_dir = Path(msp_dir)
    certs = _read_dir(msp_dir / "signcerts")
    keys = _read_dir(msp_dir / "keystore")
    if not certs or not keys:
        raise MSPError(
            f"MSP folder {msp_dir} needs one cert in signcerts/ and one key in keystore/"
        )
    cert_pem = certs[0]
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(keys[0], password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise MSPError(f"key in {msp_dir / 'keystore'} is not an ECDSA key")
    msp = MSP(
        msp_config_pb2.FabricMSPConfig.FromString(msp_config_from_dir(msp_id, msp_dir).config)
    )
    serialized = identities_pb2.SerializedIdentity(
        mspid=msp_id, id_bytes=cert_pem
    ).SerializeToString()
    return SigningIdentity(msp, cert, serialized, key)
