"""What a chaincode knows about the network: its configuration file, read once at start.

A contract must not hard-code MSP ids: which organisation is the Business Network
Administrator, which one operates the charging infrastructure, are facts of the network the
chaincode is deployed on. The sandbox writes them from its topology into one JSON file per
chaincode (``$CBP_HOME/chaincode/<name>/config.json``); the server is given its path with
``--config`` or ``CHAINCODE_CONFIG``, reads it once, and hands it to every contract served
through ``Contract.configure``:

    class TradingContract(Contract):
        def configure(self, config: ChaincodeConfig) -> None:
            super().configure(config)
            self.operator_msp = config.one_with_role("INFRA").msp_id   # fails at start-up

Every endorsing peer must run the chaincode with the same file (a chaincode's answer may depend
on it); in the sandbox one server serves every peer, and in a multi-host deployment every
organisation's copy is written from the same topology.

The file (camelCase like the connection profile)::

    {"chaincode": "registry",
     "channels": {"bsp1-channel": ["tso", "bsphost", "dsohost", "bsp1", "areti"], ...},
     "organizations": {"tso": {"mspId": "TSOMSP", "name": "Terna S.p.A.", "role": "TSO",
                               "eic": "10X1001A1001A345", "bna": true, "tenantOf": null}, ...}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .config import ENV, SettingsError

__all__ = ["ChaincodeConfig", "ConfigError", "OrgInfo", "load_chaincode_config"]


class ConfigError(SettingsError):
    """The chaincode's configuration is missing, unreadable, or lacks what a contract needs."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OrgInfo(_Model):
    """One organisation of the network, as the topology declares it."""

    key: str = ""  # the topology's org key (e.g. "tso"); filled from the mapping
    msp_id: str = Field(alias="mspId", min_length=1)
    name: str = ""
    role: str | None = None
    eic: str | None = None
    bna: bool = False
    tenant_of: str | None = Field(default=None, alias="tenantOf")


class ChaincodeConfig(_Model):
    """The organisations and channels of the network a chaincode runs on.

    An empty configuration (no file given) is valid: a contract that asks it for an
    organisation gets a ``ConfigError`` saying where the configuration comes from.
    """

    chaincode: str = ""
    source: str = Field(default="", exclude=True)  # the file it was read from, for messages
    channels: Mapping[str, tuple[str, ...]] = {}
    organizations: Mapping[str, OrgInfo] = {}

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        """Each organisation learns its own key from the mapping it is listed under."""
        if isinstance(data, dict) and isinstance(data.get("organizations"), dict):
            data = {
                **data,
                "organizations": {
                    k: {**o, "key": k} if isinstance(o, dict) else o
                    for k, o in data["organizations"].items()
                },
            }
        return data

    def _missing(self, what: str) -> ConfigError:
        where = (
            f"chaincode config {self.source}"
            if self.source
            else f"the chaincode has no config (--config or {ENV['config']})"
        )
        return ConfigError(f"{where}: {what}")

    def org(self, key: str) -> OrgInfo:
        """The organisation with this topology key (``tso``, ``bsp1``...)."""
        try:
            return self.organizations[key]
        except KeyError:
            known = ", ".join(sorted(self.organizations)) or "none"
            raise self._missing(f"no organization {key!r} (known: {known})") from None

    def by_msp_id(self, msp_id: str) -> OrgInfo | None:
        """The organisation whose MSP id this is, or None for an MSP outside the network."""
        return next((o for o in self.organizations.values() if o.msp_id == msp_id), None)

    def with_role(self, role: str) -> tuple[OrgInfo, ...]:
        """Every organisation with this role (``TSO``, ``DSO``, ``BSP``, ``INFRA``...), by key."""
        return tuple(o for _, o in sorted(self.organizations.items()) if o.role == role)

    def one_with_role(self, role: str) -> OrgInfo:
        """The one organisation with this role; an error when there is none or several."""
        found = self.with_role(role)
        if len(found) != 1:
            names = ", ".join(o.msp_id for o in found) or "none"
            raise self._missing(
                f"expected exactly one organization with role {role}, found {names}"
            )
        return found[0]

    def bna(self) -> OrgInfo:
        """The Business Network Administrator (the organisation marked ``bna: true``)."""
        found = [o for o in self.organizations.values() if o.bna]
        if len(found) != 1:
            names = ", ".join(o.msp_id for o in found) or "none"
            raise self._missing(f"expected exactly one organization with bna: true, found {names}")
        return found[0]


def load_chaincode_config(path: str | Path | None) -> ChaincodeConfig:
    """Read the configuration file; ``None`` gives the empty configuration."""
    if path is None:
        return ChaincodeConfig()
    p = Path(path)
    try:
        raw = json.loads(p.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"chaincode config {p} ({ENV['config']}) does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"chaincode config {p} ({ENV['config']}) is not readable JSON: {exc}"
        ) from None
    try:
        return ChaincodeConfig.model_validate(
            {**raw, "source": str(p)} if isinstance(raw, dict) else raw
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"chaincode config {p}: {where}: {first['msg']}") from None
