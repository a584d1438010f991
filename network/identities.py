"""Identities for the whole topology, laid out exactly as Fabric's `cryptogen` lays them out.

Per org: a signing CA (`ca/`) and a TLS CA (`tlsca/`), the org MSP (`msp/` with NodeOUs),
node identities (peers or orderers) with their TLS server certs, and users (Admin, User1...)
with TLS client certs. User certificates carry Fabric-CA style attributes (role, EIC) in the
`1.2.3.4.5.6.7.8.1` extension, so chaincode can read them as it would from a Fabric CA.
Keys are ECDSA P-256, PKCS#8 PEM, written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from network.topology import OrdererNode, Org, Topology

log = logging.getLogger(__name__)

ATTRS_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")  # Fabric CA's attribute extension
VALIDITY = dt.timedelta(days=3650)  # cryptogen's ten years
NODE_OU_YAML = """NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: orderer
"""


@dataclass(frozen=True)
class CA:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret so that only the owner can ever read it (no window with wider bits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ski(key: ec.EllipticCurvePublicKey) -> bytes:
    # cryptogen's SKI: SHA-256 of the uncompressed public point
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return hashlib.sha256(raw).digest()


def _name(domain: str, cn: str, ou: str | None = None) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Lazio"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Roma"),
    ]
    if ou is None:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, domain))
    else:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(parts)


def _now() -> dt.datetime:
    # backdated a little, as cryptogen does, so that clocks a few minutes apart agree
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    key_encipherment: bool,
    key_agreement: bool,
) -> x509.CertificateBuilder:
    """What every certificate here shares: ten years from a little before now, basic
    constraints, and key usage (signing always; certificate and CRL signing for a CA)."""
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=key_encipherment, data_encipherment=False,
                key_agreement=key_agreement, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )  # fmt: skip


def new_ca(domain: str, cn: str) -> CA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(domain, cn)
    cert = (
        _builder(name, name, key, ca=True, key_encipherment=True, key_agreement=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier(_ski(key.public_key())), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CA(cert, key)


def issue(
    ca: CA,
    domain: str,
    cn: str,
    *,
    ou: str | None = None,
    sans: list[str] | None = None,
    tls: bool = False,
    attrs: dict[str, str] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(
        _name(domain, cn, ou), ca.cert.subject, key, ca=False, key_encipherment=tls,
        key_agreement=tls,
    ).add_extension(
        x509.AuthorityKeyIdentifier(_ski(ca.key.public_key()), None, None), critical=False
    )  # fmt: skip
    if tls:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    if sans:
        general: list[x509.GeneralName] = []
        for s in sans:
            try:
                general.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                general.append(x509.DNSName(s))
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    if attrs is not None:
        value = json.dumps({"attrs": attrs}, separators=(",", ":"), sort_keys=True).encode()
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ATTRS_OID, value), critical=False
        )
    return builder.sign(ca.key, hashes.SHA256()), key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class CryptoLayout:
    """Paths of the cryptogen tree for one topology, and its generation."""

    def __init__(self, topology: Topology, root: Path) -> None:
        self.topology = topology
        self.root = root

    def org_dir(self, org: Org) -> Path:
        kind = "ordererOrganizations" if org.kind == "orderer" else "peerOrganizations"
        return self.root / kind / org.domain

    def org_msp(self, org_key: str) -> Path:
        return self.org_dir(self.topology.orgs[org_key]) / "msp"

    def ca_cert(self, org_key: str) -> Path:
        org = self.topology.orgs[org_key]
        return self.org_dir(org) / "ca" / f"ca.{org.domain}-cert.pem"

    def tlsca_cert(self, org_key: str) -> Path:
        org = self.topology.orgs[org_key]
        return self.org_dir(org) / "tlsca" / f"tlsca.{org.domain}-cert.pem"

    def node_dir(self, org_key: str, host: str) -> Path:
        org = self.topology.orgs[org_key]
        sub = "orderers" if org.kind == "orderer" else "peers"
        return self.org_dir(org) / sub / host

    def user_dir(self, org_key: str, user: str) -> Path:
        org = self.topology.orgs[org_key]
        return self.org_dir(org) / "users" / f"{user}@{org.domain}"

    def signcert(self, identity_dir: Path) -> Path:
        return next((identity_dir / "msp" / "signcerts").glob("*.pem"))

    def keystore(self, identity_dir: Path) -> Path:
        return identity_dir / "msp" / "keystore" / "priv_sk"

    @property
    def chaincode_tlsca(self) -> Path:
        return self.root / "chaincode" / "tlsca" / "ca.crt"

    def chaincode_tls(self, chaincode: str) -> Path:
        return self.root / "chaincode" / chaincode

    @property
    def complete_marker(self) -> Path:
        return self.root / ".complete"

    def exists(self) -> bool:
        return self.complete_marker.exists()

    def missing_orgs(self) -> list[str]:
        """The topology's organisations a finished tree has no identities for (a sandbox made
        before the topology gained them)."""
        return [key for key, org in self.topology.orgs.items() if not self.org_dir(org).is_dir()]

    # generation -----------------------------------------------------------------------------

    def generate(self) -> None:
        """Create every identity of the topology; a finished tree is left as it is."""
        if self.exists():
            log.info("crypto material already in %s", self.root)
            return
        for key, org in self.topology.orgs.items():
            self._generate_org(key, org)
        self._generate_chaincode_tls()
        _write(self.complete_marker, b"generated by network.identities\n")

    def _write_msp(
        self,
        msp: Path,
        ca: CA,
        tlsca: CA,
        org: Org,
        cert: x509.Certificate | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        ca_name = f"ca.{org.domain}-cert.pem"
        _write(msp / "cacerts" / ca_name, ca.pem)
        _write(msp / "tlscacerts" / f"tlsca.{org.domain}-cert.pem", tlsca.pem)
        (msp / "admincerts").mkdir(parents=True, exist_ok=True)
        _write(msp / "config.yaml", NODE_OU_YAML.format(ca=ca_name).encode())
        if cert is not None and key is not None:
            cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            _write(msp / "signcerts" / f"{cn!s}-cert.pem", _pem(cert))
            write_private(msp / "keystore" / "priv_sk", _key_pem(key))

    def _write_tls(
        self,
        tls_dir: Path,
        tlsca: CA,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        server: bool,
    ) -> None:
        stem = "server" if server else "client"
        _write(tls_dir / "ca.crt", tlsca.pem)
        _write(tls_dir / f"{stem}.crt", _pem(cert))
        write_private(tls_dir / f"{stem}.key", _key_pem(key))

    def _generate_org(self, key: str, org: Org) -> None:
        base = self.org_dir(org)
        ca = new_ca(org.domain, f"ca.{org.domain}")
        tlsca = new_ca(org.domain, f"tlsca.{org.domain}")
        _write(base / "ca" / f"ca.{org.domain}-cert.pem", ca.pem)
        write_private(base / "ca" / "priv_sk", _key_pem(ca.key))
        _write(base / "tlsca" / f"tlsca.{org.domain}-cert.pem", tlsca.pem)
        write_private(base / "tlsca" / "priv_sk", _key_pem(tlsca.key))
        self._write_msp(base / "msp", ca, tlsca, org)

        if org.kind == "orderer":
            nodes = [(n.host, "orderer") for n in _all_orderers(self.topology)]
        else:
            nodes = [(p.host, "peer") for p in self.topology.peers if p.org == key]
        for host, ou in nodes:
            d = base / ("orderers" if ou == "orderer" else "peers") / host
            cert, k = issue(ca, org.domain, host, ou=ou)
            self._write_msp(d / "msp", ca, tlsca, org, cert, k)
            short = host.split(".")[0]
            tcert, tk = issue(
                tlsca, org.domain, host, sans=[host, short, "localhost", "127.0.0.1"], tls=True
            )
            self._write_tls(d / "tls", tlsca, tcert, tk, server=True)

        users: list[tuple[str, str, dict[str, str] | None]] = [("Admin", "admin", None)]
        users += [(u.name, "client", u.attrs) for u in self.topology.users(key)]
        for name, ou, attrs in users:
            d = base / "users" / f"{name}@{org.domain}"
            enrollment = f"{name}@{org.domain}"
            all_attrs = {"hf.EnrollmentID": enrollment, "hf.Type": ou}
            if org.role:
                all_attrs["role"] = org.role
            if org.eic:
                all_attrs["eic"] = org.eic
            all_attrs.update(attrs or {})
            cert, k = issue(ca, org.domain, enrollment, ou=ou, attrs=all_attrs)
            self._write_msp(d / "msp", ca, tlsca, org, cert, k)
            tcert, tk = issue(tlsca, org.domain, enrollment, tls=True)
            self._write_tls(d / "tls", tlsca, tcert, tk, server=False)

    def issue_peer(self, org_key: str, host: str) -> Path:
        """A new peer of an existing org, its signing and TLS certificates issued by the org's
        own CAs (as the org's admin would with Fabric CA or cryptogen extend); returns the
        node folder. An identity that exists is kept."""
        org = self.topology.orgs[org_key]
        d = self.node_dir(org_key, host)
        if (d / "tls" / "server.key").exists():
            return d
        base = self.org_dir(org)
        ca = _load_ca(base / "ca" / f"ca.{org.domain}-cert.pem", base / "ca" / "priv_sk")
        tlsca = _load_ca(
            base / "tlsca" / f"tlsca.{org.domain}-cert.pem", base / "tlsca" / "priv_sk"
        )
        cert, k = issue(ca, org.domain, host, ou="peer")
        self._write_msp(d / "msp", ca, tlsca, org, cert, k)
        short = host.split(".")[0]
        tcert, tk = issue(
            tlsca, org.domain, host, sans=[host, short, "localhost", "127.0.0.1"], tls=True
        )
        self._write_tls(d / "tls", tlsca, tcert, tk, server=True)
        return d

    def _generate_chaincode_tls(self) -> None:
        """Chaincode servers' TLS: one CA, a server cert per chaincode, and a client cert the
        peers present (connection.json's client_cert), since the servers require client auth."""
        ca = new_ca("chaincode." + self.topology.spec.domain, "tlsca.chaincode")
        _write(self.chaincode_tlsca, ca.pem)
        write_private(self.chaincode_tlsca.with_name("priv_sk"), _key_pem(ca.key))
        for name in self.topology.chaincodes:
            d = self.chaincode_tls(name)
            host = f"{name}.chaincode.{self.topology.spec.domain}"
            cert, k = issue(
                ca, "chaincode", host, sans=[host, name, "localhost", "127.0.0.1"], tls=True
            )
            self._write_tls(d, ca, cert, k, server=True)
            ccert, ck = issue(ca, "chaincode", f"peer-client.{host}", tls=True)
            self._write_tls(d, ca, ccert, ck, server=False)


def _load_ca(cert: Path, key: Path) -> CA:
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key} is not an ECDSA key; the sandbox's CAs are ECDSA P-256")
    return CA(x509.load_pem_x509_certificate(cert.read_bytes()), private)


def _all_orderers(topology: Topology) -> list[OrdererNode]:
    # identities for every declared orderer, so that switching to 3 Raft nodes needs no new crypto
    full = type(topology)(
        topology.spec, raft_nodes=len(topology.spec.orderer.nodes), port_offset=topology.port_offset
    )
    return full.orderers


def generate_crypto(topology: Topology, crypto_dir: Path) -> CryptoLayout:
    layout = CryptoLayout(topology, crypto_dir)
    layout.generate()
    return layout
