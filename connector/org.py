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
TRADING = "trading"


class Role(StrEnum):
    TSO = "TSO"
    DSO = "DSO"
    BSP = "BSP"
    AUDITOR = "AUDITOR"  # reads every channel, writes nothing (the channels' Writers refuse it)
    INFRA = "INFRA"  # a charging infrastructure operator: runs the P2P market, confirms trades
    EVUSER = "EVUSER"  # EV users: declare their EVs, buy energy from other EVs


# The chaincode each role's connector works with: the flexibility registry, or the P2P market.
CHAINCODE: dict[Role, str] = {
    Role.TSO: REGISTRY,
    Role.DSO: REGISTRY,
    Role.BSP: REGISTRY,
    Role.AUDITOR: REGISTRY,
    Role.INFRA: TRADING,
    Role.EVUSER: TRADING,
}


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
    connector_url: str | None = None  # where its connector answers other organisations


@dataclass(frozen=True)
class OrgContext:
    """This connector's organisation, the parties it deals with, and where it reaches them."""

    me: Party
    parties: tuple[Party, ...]
    channels: tuple[str, ...]  # the channels of `chaincode` this organisation belongs to
    fabric_users: tuple[str, ...]
    profile_path: Path
    connector_port: int | None

    @property
    def chaincode(self) -> str:
        """The chaincode this organisation's connector works with (its role decides)."""
        return CHAINCODE[self.me.role]

    @property
    def trading(self) -> bool:
        return self.chaincode == TRADING

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
        connector_url=org.get("connectorUrl"),
    )


def load_org(org_key: str, profile_path: Path) -> OrgContext:
    """The connector's view of `org_key`; refuses an org that no chaincode gives a role."""
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
            f"organisation {org_key!r} has none of the roles a connector serves "
            f"({', '.join(Role)}): no chaincode has anything for its connector to do"
        )
    chaincode = CHAINCODE[me.role]
    channels = tuple(
        name
        for name, ch in sorted(profile.get("channels", {}).items())
        if org_key in ch.get("orgs", []) and chaincode in ch.get("chaincodes", [])
    )
    if not channels:
        raise ProfileError(f"organisation {org_key!r} is on no channel that runs the {chaincode}")
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
