"""TLS material for the engine's listeners and for the peers' dial-out to chaincode servers.

Server credentials come from a cryptogen `tls/` folder (server.crt, server.key, ca.crt). The
chaincode connection is described by Fabric's CCaaS `connection.json`, whose `root_cert`,
`client_cert` and `client_key` hold PEM text; a path (relative to the file) is accepted too, so
a hand-written connection.json can point at files.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import grpc

log = logging.getLogger(__name__)

# Fabric's peers and orderers accept messages up to 100 MB by default (peer.yaml/orderer.yaml).
MAX_MESSAGE_BYTES = 100 * 1024 * 1024

GRPC_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5000),
    ("grpc.keepalive_time_ms", 60000),
]


class TLSConfigError(ValueError):
    """TLS material is missing or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class ServerTLS:
    cert: bytes
    key: bytes
    ca: bytes

    @classmethod
    def from_dir(cls, tls_dir: Path) -> ServerTLS:
        """Read a cryptogen node `tls/` folder."""
        return cls(
            cert=_read(tls_dir / "server.crt"),
            key=_read(tls_dir / "server.key"),
            ca=_read(tls_dir / "ca.crt"),
        )

    def credentials(self, client_roots: bytes | None = None) -> grpc.ServerCredentials:
        """Server credentials; with `client_roots`, clients must present a cert they sign."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)],
            root_certificates=client_roots,
            require_client_auth=client_roots is not None,
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TLSConfigError(f"TLS file {path} not found") from None


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")


def parse_duration(text: str) -> float:
    """Go duration strings as Fabric writes them ("10s", "500ms", "1m") to seconds."""
    m = _DURATION.match(text.strip())
    if not m:
        raise TLSConfigError(f"duration {text!r} must look like 10s, 500ms or 1m")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


@dataclass(frozen=True)
class ChaincodeConnection:
    """Fabric's CCaaS connection.json, with PEM fields resolved to bytes."""

    address: str
    dial_timeout: float = 10.0
    tls_required: bool = False
    client_auth_required: bool = False
    root_cert: bytes | None = None
    client_cert: bytes | None = None
    client_key: bytes | None = None

    @classmethod
    def load(cls, path: Path) -> ChaincodeConnection:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise TLSConfigError(f"chaincode connection file {path} not found") from None
        except json.JSONDecodeError as exc:
            raise TLSConfigError(f"chaincode connection file {path} is not JSON: {exc}") from exc
        return cls.from_dict(raw, base=path.parent, source=str(path))

    @classmethod
    def from_dict(
        cls, raw: dict[str, object], base: Path | None = None, source: str = "connection.json"
    ) -> ChaincodeConnection:
        address = raw.get("address")
        if not isinstance(address, str) or ":" not in address:
            raise TLSConfigError(f"{source}: 'address' must be host:port, got {address!r}")

        def pem(field: str) -> bytes | None:
            value = raw.get(field)
            if not value:
                return None
            if not isinstance(value, str):
                raise TLSConfigError(f"{source}: {field!r} must be PEM text or a path")
            if value.lstrip().startswith("-----BEGIN"):
                return value.encode()
            p = Path(value)
            if not p.is_absolute() and base is not None:
                p = base / p
            return _read(p)

        tls_required = bool(raw.get("tls_required", False))
        client_auth = bool(raw.get("client_auth_required", False))
        conn = cls(
            address=address,
            dial_timeout=parse_duration(str(raw.get("dial_timeout") or "10s")),
            tls_required=tls_required,
            client_auth_required=client_auth,
            root_cert=pem("root_cert"),
            client_cert=pem("client_cert"),
            client_key=pem("client_key"),
        )
        if tls_required and conn.root_cert is None:
            raise TLSConfigError(f"{source}: tls_required needs 'root_cert'")
        if client_auth and (conn.client_cert is None or conn.client_key is None):
            raise TLSConfigError(f"{source}: client_auth_required needs client_cert and client_key")
        return conn

    def channel_credentials(self) -> grpc.ChannelCredentials | None:
        if not self.tls_required:
            return None
        if self.client_auth_required:
            return grpc.ssl_channel_credentials(self.root_cert, self.client_key, self.client_cert)
        return grpc.ssl_channel_credentials(self.root_cert)
