"""X.509 identities: who signs, as Fabric's MSP sees them.

An `Identity` is an MSP id plus a PEM certificate; `creator` is the `msp.SerializedIdentity`
bytes that go into every signature header. Identities and their signers load from an MSP folder
in cryptogen layout, from a wallet folder (fabric-network's `<label>.id` JSON files, so
wallets made by the Node SDK work as they are), or from PEM bytes.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.msp import identities_pb2

from gateway.errors import IdentityError
from gateway.signing import ECDSASigner, load_private_key, sha256

log = logging.getLogger(__name__)

# Fabric CA's attribute extension: JSON {"attrs": {...}} that chaincode reads as attributes.
ATTRS_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")


@dataclass(frozen=True)
class Identity:
    """A client identity: its MSP id and its X.509 certificate (PEM bytes)."""

    msp_id: str
    credentials: bytes

    def __post_init__(self) -> None:
        if not self.msp_id:
            raise IdentityError("identity has an empty MSP id; Fabric needs the org's MSP id")
        try:
            x509.load_pem_x509_certificate(self.credentials)
        except ValueError as exc:
            raise IdentityError(
                f"identity of {self.msp_id}: credentials are not a PEM X.509 certificate"
            ) from exc

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.credentials)

    @cached_property
    def creator(self) -> bytes:
        """The serialized `msp.SerializedIdentity` placed in signature headers."""
        sid = identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.credentials)
        return bytes(sid.SerializeToString())

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def common_name(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    @property
    def attributes(self) -> dict[str, str]:
        """Fabric-CA attributes carried in the certificate (empty if it has none)."""
        return certificate_attributes(self.certificate)

    @classmethod
    def from_creator(cls, creator: bytes) -> Identity:
        """Decode a `SerializedIdentity` (a proposal's or transaction's creator)."""
        sid = identities_pb2.SerializedIdentity()
        sid.ParseFromString(creator)
        return cls(msp_id=sid.mspid, credentials=bytes(sid.id_bytes))


def certificate_attributes(cert: x509.Certificate) -> dict[str, str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ATTRS_OID)
    except x509.ExtensionNotFound:
        return {}
    value = ext.value
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    try:
        attrs = json.loads(raw).get("attrs", {})
    except (ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in attrs.items()} if isinstance(attrs, dict) else {}


def load_identity(msp_id: str, certificate: bytes | str | Path) -> Identity:
    """An identity from PEM bytes or the path of a PEM certificate file."""
    if isinstance(certificate, bytes):
        return Identity(msp_id, certificate)
    try:
        return Identity(msp_id, Path(certificate).read_bytes())
    except OSError as exc:
        raise IdentityError(f"certificate {certificate} cannot be read: {exc.strerror}") from exc


def _single_file(folder: Path, what: str, suffixes: tuple[str, ...] | None) -> Path:
    if not folder.is_dir():
        raise IdentityError(f"MSP folder {folder.parent}: {folder.name}/ is missing ({what})")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and (suffixes is None or p.name.endswith(suffixes))
    )
    if not files:
        raise IdentityError(f"MSP folder {folder.parent}: {folder.name}/ holds no {what}")
    return files[0]


def _matching_key(keystore: Path, cert: x509.Certificate) -> ec.EllipticCurvePrivateKey:
    """The keystore key whose public half is the certificate's (keystores may hold several)."""
    cert_pub = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    candidates = sorted(p for p in keystore.iterdir() if p.is_file())
    for path in candidates:
        try:
            key = load_private_key(path)
        except IdentityError:
            continue
        pub = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if pub == cert_pub:
            return key
    raise IdentityError(
        f"MSP keystore {keystore}: none of its {len(candidates)} file(s) is the private key of "
        "the certificate in signcerts/"
    )


def load_msp_folder(msp_dir: str | Path, msp_id: str) -> tuple[Identity, ECDSASigner]:
    """Identity and signer from an MSP folder: `signcerts/*.pem` and its key in `keystore/`."""
    root = Path(msp_dir)
    if not root.is_dir():
        raise IdentityError(f"MSP folder {root} does not exist")
    cert_path = _single_file(root / "signcerts", "certificate (*.pem)", (".pem", ".crt"))
    _single_file(root / "keystore", "private key", None)
    identity = load_identity(msp_id, cert_path)
    key = _matching_key(root / "keystore", identity.certificate)
    log.debug("loaded identity %s of %s from %s", identity.common_name, msp_id, root)
    return identity, ECDSASigner(key)


class Wallet:
    """A folder of identities, one `<label>.id` JSON file each (fabric-network's format).

    Keys are written with mode 0600 through a temporary file and `os.replace`, so a reader never
    sees half a file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def labels(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.stem for p in self.path.glob("*.id"))

    def _file(self, label: str) -> Path:
        if not label or "/" in label or label.startswith("."):
            raise IdentityError(f"wallet label {label!r} must be a plain file name")
        return self.path / f"{label}.id"

    def get(self, label: str) -> tuple[Identity, ECDSASigner]:
        path = self._file(label)
        try:
            data = json.loads(path.read_text())
            creds = data["credentials"]
            identity = Identity(data["mspId"], creds["certificate"].encode())
            key_pem = creds["privateKey"].encode()
        except FileNotFoundError:
            raise IdentityError(
                f"wallet {self.path} has no identity {label!r} (has: {self.labels()})"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IdentityError(
                f"wallet entry {path} is not a fabric X.509 identity file: {exc!r}"
            ) from exc
        if data.get("type", "X.509") != "X.509":
            raise IdentityError(f"wallet entry {path} has type {data.get('type')!r}; need X.509")
        return identity, ECDSASigner(load_private_key(key_pem))

    def put(self, label: str, identity: Identity, private_key_pem: bytes) -> Path:
        load_private_key(private_key_pem)  # refuse to store something unusable
        entry = {
            "credentials": {
                "certificate": identity.credentials.decode(),
                "privateKey": private_key_pem.decode(),
            },
            "mspId": identity.msp_id,
            "type": "X.509",
            "version": 1,
        }
        path = self._file(label)
        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{label}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(entry, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def remove(self, label: str) -> None:
        self._file(label).unlink(missing_ok=True)


class SigningIdentity:
    """An identity with the hash and signer that sign on its behalf.

    `signer` may be None for offline signing: then every signable object must be given a
    signature (`new_signed_proposal(...)` etc.) before it is sent.
    """

    def __init__(
        self,
        identity: Identity,
        signer: Callable[[bytes], bytes] | None = None,
        hash: Callable[[bytes], bytes] = sha256,
    ) -> None:
        self.identity = identity
        self.creator = identity.creator
        self._signer = signer
        self._hash = hash

    def hash(self, message: bytes) -> bytes:
        return self._hash(message)

    def sign(self, digest: bytes) -> bytes:
        if self._signer is None:
            raise IdentityError(
                f"no signer for {self.identity.msp_id} identity {self.identity.common_name!r}: "
                "connect with a signer, or sign offline and use the gateway's new_signed_* calls"
            )
        return self._signer(digest)
