"""Settings of a chaincode server, from flags with the environment variables Fabric's shims read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV", "ServerSettings", "SettingsError"]

# Fabric's peer allows 100 MiB messages; a TRANSACTION carries its arguments twice (input and
# signed proposal), so a 50 MB argument needs more than that on the chaincode side.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
DEFAULT_WORKERS = 32

# setting -> environment variable
ENV = {
    "address": "CHAINCODE_SERVER_ADDRESS",
    "chaincode_id": "CORE_CHAINCODE_ID_NAME",
    "tls_cert": "CHAINCODE_TLS_CERT",
    "tls_key": "CHAINCODE_TLS_KEY",
    "client_ca_cert": "CHAINCODE_CLIENT_CA_CERT",
    "workers": "CHAINCODE_WORKERS",
    "config": "CHAINCODE_CONFIG",
}


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it and its environment variable."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    address: str
    chaincode_id: str
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca_cert: Path | None = None  # set: peers must present a certificate it issued
    config: Path | None = None  # what the chaincode knows of the network (chaincode_config)
    workers: int = DEFAULT_WORKERS  # transactions run at once, over all peers
    reply_timeout: float = 300.0  # seconds a transaction waits for one peer reply
    max_message_bytes: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if not self.address:
            raise SettingsError(f"address is required (--address or {ENV['address']})")
        host, sep, port = self.address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(f"address {self.address!r} must be host:port ({ENV['address']})")
        if not self.chaincode_id:
            raise SettingsError(
                f"chaincode id is required (--chaincode-id or {ENV['chaincode_id']}): "
                "the package id the peer knows the chaincode by"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError(
                f"TLS needs both a certificate and a key ({ENV['tls_cert']}, {ENV['tls_key']})"
            )
        if self.client_ca_cert is not None and self.tls_cert is None:
            raise SettingsError(
                f"client certificate checks ({ENV['client_ca_cert']}) need TLS: "
                f"set {ENV['tls_cert']} and {ENV['tls_key']}"
            )
        for field in ("tls_cert", "tls_key", "client_ca_cert", "config"):
            path = getattr(self, field)
            if path is not None and not Path(path).is_file():
                raise SettingsError(f"{field} {path} ({ENV[field]}) is not a readable file")
        if self.workers < 1:
            raise SettingsError(
                f"workers must be at least 1 ({ENV['workers']}), not {self.workers}"
            )

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @classmethod
    def from_sources(
        cls,
        env: Mapping[str, str] | None = None,
        **flags: str | int | float | Path | None,
    ) -> ServerSettings:
        """Flags win over the environment; unset flags (None) fall back to it."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field, variable in ENV.items():
            value = flags.get(field)
            if value is None:
                value = env.get(variable) or None
            values[field] = value
        for field in ("tls_cert", "tls_key", "client_ca_cert", "config"):
            if values[field] is not None:
                values[field] = Path(str(values[field]))
        workers = values["workers"]
        try:
            values["workers"] = DEFAULT_WORKERS if workers is None else int(str(workers))
        except ValueError:
            raise SettingsError(
                f"workers ({ENV['workers']}) must be a number, not {workers!r}"
            ) from None
        for extra in ("reply_timeout", "max_message_bytes"):
            if flags.get(extra) is not None:
                values[extra] = flags[extra]
        return cls(
            address=str(values["address"] or ""),
            chaincode_id=str(values["chaincode_id"] or ""),
            **{k: v for k, v in values.items() if k not in ("address", "chaincode_id")},  # type: ignore[arg-type]
        )
