"""What a connector knows of its organisation and the network, from the connection profile.

The profile is the one file every client reads (the sandbox writes it from the topology), so
the connector learns its role, EIC, channels and Fabric users from there, never from code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from gateway.endpoints import read_profile

REGISTRY = "registry"


class Role(StrEnum):
    TSO = "TSO"
    DSO = "DSO"
    BSP = "BSP"
    AUDITOR = "AUDITOR"  # reads every channel, writes nothing (the channels' Writers refuse it)


class ProfileError(ValueError):
    """The connection profile cannot serve a connector for this organisation."""


@dataclass(frozen=True)
class Party:
    """An organisation of the network as the registry names it."""

    key: str
    msp_id: str
    eic: str
    role: Role
    name: str
    distributor_code: str | None = None


@dataclass(frozen=True)
class OrgContext:
    """This connector's organisation, the parties it deals with, and where it reaches them."""

    me: Party
    parties: tuple[Party, ...]
    channels: tuple[str, ...]  # the registry channels this organisation belongs to
    fabric_users: tuple[str, ...]
    profile_path: Path
    connector_port: int | None

    @property
    def tso(self) -> Party:
        return next(p for p in self.parties if p.role is Role.TSO)

    def party_by_eic(self, eic: str) -> Party | None:
        return next((p for p in self.parties if p.eic == eic), None)

    def party_by_msp(self, msp_id: str) -> Party | None:
        return next((p for p in self.parties if p.msp_id == msp_id), None)

    def channel_parties(self, channel: str, profile: dict[str, Any]) -> list[Party]:
        keys = profile["channels"][channel]["orgs"]
        return [p for p in self.parties if p.key in keys]


def party_of(key: str, org: dict[str, Any]) -> Party | None:
    role = org.get("role")
    if not isinstance(role, str) or role not in Role.__members__ or not org.get("eic"):
        return None
    return Party(
        key=key,
        msp_id=org["mspid"],
        eic=org["eic"],
        role=Role(role),
        name=org.get("name") or key,
        distributor_code=org.get("distributorCode"),
    )


def load_org(org_key: str, profile_path: Path) -> OrgContext:
    """The connector's view of `org_key`; refuses an org the registry has no role for."""
    try:
        profile = read_profile(profile_path)
    except Exception as exc:  # the gateway's IdentityError already names the file and the cause
        raise ProfileError(str(exc)) from None
    orgs: dict[str, Any] = profile.get("organizations", {})
    if org_key not in orgs:
        with_role = sorted(k for k, o in orgs.items() if party_of(k, o) is not None)
        raise ProfileError(
            f"organisation {org_key!r} is not in the network; connectors serve: "
            f"{', '.join(with_role)}"
        )
    parties = tuple(p for k, o in orgs.items() if (p := party_of(k, o)) is not None)
    me = next((p for p in parties if p.key == org_key), None)
    if me is None:
        raise ProfileError(
            f"organisation {org_key!r} has no TSO, DSO, BSP or AUDITOR role: the registry has nothing "
            "for its connector to do"
        )
    channels = tuple(
        name
        for name, ch in sorted(profile.get("channels", {}).items())
        if org_key in ch.get("orgs", []) and REGISTRY in ch.get("chaincodes", [])
    )
    if not channels:
        raise ProfileError(f"organisation {org_key!r} is on no channel that runs the registry")
    url = orgs[org_key].get("connectorUrl")
    port = int(url.rsplit(":", 1)[1]) if url else None
    return OrgContext(
        me=me,
        parties=parties,
        channels=channels,
        fabric_users=tuple(sorted(orgs[org_key].get("users", {}))),
        profile_path=profile_path,
        connector_port=port,
    )
