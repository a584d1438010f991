"""The sandbox topology: one YAML file, read into typed, checked objects.

Every engine and client derives orgs, nodes, channels, chaincodes and ports from here,
so a change to the network is a change to `topology.yaml` and nothing else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from network import yamlio

DEFAULT_TOPOLOGY = Path(__file__).with_name("topology.yaml")
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
EPHEMERAL_FLOOR = 32768  # Linux's default first ephemeral port, where the file is unreadable


class TopologyError(ValueError):
    """The topology file or a setting that shifts it (CBP_PORT_OFFSET) is wrong; the message
    names the file or setting and the rule."""


def ephemeral_floor() -> int:
    """The first port this machine hands out for outgoing connections: a listener at or above
    it may find its port taken by any client, so the sandbox stays below it."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return EPHEMERAL_FLOOR


Role = Literal["TSO", "DSO", "BSP", "HOST", "INFRA", "EVUSER", "AUDITOR"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeerSpec(_Strict):
    name: str
    port: int = Field(ge=1024, le=65535)
    chaincode_port: int = Field(ge=1024, le=65535)
    operations_port: int = Field(ge=1024, le=65535)


class OrdererNodeSpec(_Strict):
    name: str
    port: int = Field(ge=1024, le=65535)
    admin_port: int = Field(ge=1024, le=65535)
    cluster_port: int = Field(ge=1024, le=65535)
    operations_port: int = Field(ge=1024, le=65535)


class OrdererSpec(_Strict):
    org: str
    consensus: Literal["etcdraft"] = "etcdraft"
    batch_timeout: str = "2s"
    max_message_count: int = Field(default=500, ge=1)
    absolute_max_bytes: int = Field(default=103809024, ge=1024)
    preferred_max_bytes: int = Field(default=2097152, ge=1024)
    nodes: list[OrdererNodeSpec]

    @field_validator("batch_timeout")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not re.fullmatch(r"\d+(ms|s)", v):
            raise ValueError(f"batch_timeout {v!r} must look like 250ms or 2s")
        return v

    @property
    def batch_timeout_seconds(self) -> float:
        v = self.batch_timeout
        return int(v[:-2]) / 1000 if v.endswith("ms") else float(v[:-1])


class OrgSpec(_Strict):
    msp_id: str
    name: str
    kind: Literal["peer", "orderer"] = "peer"
    role: Role | None = None
    eic: str | None = None
    bna: bool = False
    tenant_of: str | None = None
    peers: list[PeerSpec] = []
    # the org's CBP Connector (REST API and dashboard), for orgs that run one
    connector_port: int | None = Field(default=None, ge=1024, le=65535)
    # a DSO's distributor code: the digits after IT in the POD codes of its grid
    distributor_code: str | None = Field(default=None, pattern=r"^\d{3}$")
    # False: a Reader of its channels and a Writer of none (an auditor). Its Writers policy then
    # names only orderer nodes of its own, which such an org never has.
    writer: bool = True


class UserSpec(_Strict):
    name: str
    attrs: dict[str, str] = {}


class ChannelSpec(_Strict):
    orgs: list[str]
    chaincodes: list[str]
    # the channel's Endorsement/LifecycleEndorsement policy; default: a majority of its peer orgs
    endorsement: str | None = None


class CollectionSpec(_Strict):
    name: str
    policy: str
    required_peer_count: int = 0
    max_peer_count: int = 1
    block_to_live: int = 0
    member_only_read: bool = True
    member_only_write: bool = False


class ChaincodeSpec(_Strict):
    contract: str
    port: int = Field(ge=1024, le=65535)
    endorsement: str
    version: str = "1.0"
    sequence: int = 1
    collections: list[CollectionSpec] = []
    # Another program serving this chaincode instead of the Python runtime, as an argv whose
    # {address} {chaincode_id} {tls_cert} {tls_key} {client_ca_cert} {config} {root} are filled in.
    server: list[str] | None = None
    # Started by `up` unless false: benchmark and conformance chaincodes are started on request.
    autostart: bool = True


class TlsSpec(_Strict):
    # Fabric's peer.tls.clientAuthRequired and General.TLS.ClientAuthRequired: every client
    # must present a TLS certificate from a CA of the network's organisations. Off by default,
    # as in Fabric; TLS itself is always on.
    client_auth_required: bool = False


class TopologySpec(_Strict):
    name: str
    fabric_version: str
    domain: str
    host: str = "127.0.0.1"
    orderer: OrdererSpec
    organizations: dict[str, OrgSpec]
    users: list[UserSpec] = []
    channels: dict[str, ChannelSpec]
    chaincodes: dict[str, ChaincodeSpec]
    tls: TlsSpec = TlsSpec()

    @field_validator("host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        if not v.startswith("127."):
            raise ValueError(f"host {v!r}: the sandbox listens on loopback only (127.0.0.0/8)")
        return v

    @model_validator(mode="after")
    def _references(self) -> TopologySpec:
        orgs = self.organizations
        if self.orderer.org not in orgs or orgs[self.orderer.org].kind != "orderer":
            raise ValueError(f"orderer.org {self.orderer.org!r} must name an org of kind orderer")
        for key, org in orgs.items():
            if org.tenant_of is not None:
                host = orgs.get(org.tenant_of)
                if host is None or not host.peers:
                    raise ValueError(
                        f"org {key}: tenant_of {org.tenant_of!r} must be an org with peers"
                    )
                if org.peers:
                    raise ValueError(f"org {key}: a tenant has users only, no peers")
            if not org.writer and (org.peers or org.bna or org.kind != "peer"):
                raise ValueError(
                    f"org {key}: writer: false is for an org of users only (an auditor); it "
                    "cannot run peers, be the BNA or order blocks"
                )
        for ch, spec in self.channels.items():
            if not re.fullmatch(r"[a-z][a-z0-9.-]*", ch):
                raise ValueError(f"channel {ch!r}: Fabric channel names are lower case [a-z0-9.-]")
            for o in spec.orgs:
                if o not in orgs or orgs[o].kind != "peer":
                    raise ValueError(f"channel {ch}: unknown org {o!r}")
            for cc in spec.chaincodes:
                if cc not in self.chaincodes:
                    raise ValueError(f"channel {ch}: unknown chaincode {cc!r}")
        msp_of = {k: o.msp_id for k, o in orgs.items()}
        for cc_name, cc_spec in self.chaincodes.items():
            for coll in cc_spec.collections:
                members = set(
                    re.findall(r"'([A-Za-z0-9.\-]+)\.(?:member|admin|client|peer)'", coll.policy)
                )
                for ch, spec in self.channels.items():
                    if cc_name not in spec.chaincodes:
                        continue
                    absent = members - {msp_of[o] for o in spec.orgs}
                    if absent:
                        # Fabric's lifecycle refuses such a definition at approve/commit time
                        raise ValueError(
                            f"chaincode {cc_name}: collection {coll.name} names "
                            f"{', '.join(sorted(absent))}, not a member of channel {ch}"
                        )
        ports: dict[int, str] = {}
        for name, port in _all_ports(self):
            if port in ports:
                raise ValueError(f"port {port} used twice: {ports[port]} and {name}")
            ports[port] = name
        return self


def max_port_offset(spec: TopologySpec) -> int:
    """The largest offset that keeps every port of the topology below the ephemeral range."""
    return ephemeral_floor() - 1 - max(p for _, p in _all_ports(spec))


def _all_ports(spec: TopologySpec) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for n in spec.orderer.nodes:
        out += [
            (f"{n.name} port", n.port),
            (f"{n.name} admin", n.admin_port),
            (f"{n.name} cluster", n.cluster_port),
            (f"{n.name} operations", n.operations_port),
        ]
    for key, org in spec.organizations.items():
        for p in org.peers:
            out += [
                (f"{p.name}.{key} port", p.port),
                (f"{p.name}.{key} chaincode", p.chaincode_port),
                (f"{p.name}.{key} operations", p.operations_port),
            ]
    for cc, c in spec.chaincodes.items():
        out.append((f"chaincode {cc}", c.port))
    for key, org in spec.organizations.items():
        if org.connector_port is not None:
            out.append((f"connector {key}", org.connector_port))
    return out


@dataclass(frozen=True)
class Org:
    key: str
    msp_id: str
    name: str
    domain: str
    kind: Literal["peer", "orderer"]
    role: str | None
    eic: str | None
    bna: bool
    tenant_of: str | None
    connector_port: int | None = None
    distributor_code: str | None = None
    writer: bool = True

    @property
    def is_tenant(self) -> bool:
        return self.tenant_of is not None


@dataclass(frozen=True)
class Peer:
    org: str
    msp_id: str
    name: str
    host: str  # TLS/hostname, e.g. peer0.tso.cbp.local
    address: str  # where it listens, e.g. 127.0.0.1:7051
    port: int
    chaincode_port: int
    operations_port: int


@dataclass(frozen=True)
class OrdererNode:
    name: str
    host: str
    address: str
    port: int
    admin_port: int
    cluster_port: int
    operations_port: int


@dataclass(frozen=True)
class Chaincode:
    name: str
    contract: str
    address: str
    port: int
    endorsement: str
    version: str
    sequence: int
    collections: tuple[CollectionSpec, ...]
    server: tuple[str, ...] | None = None
    autostart: bool = True


@dataclass(frozen=True)
class Channel:
    name: str
    orgs: tuple[str, ...]
    chaincodes: tuple[str, ...]
    endorsement: str | None = None


class Topology:
    """The parsed topology with the derived views every engine needs."""

    def __init__(self, spec: TopologySpec, raft_nodes: int = 1, port_offset: int = 0) -> None:
        if not 1 <= raft_nodes <= len(spec.orderer.nodes):
            raise TopologyError(
                f"raft_nodes={raft_nodes}: the topology declares {len(spec.orderer.nodes)} orderer nodes"
            )
        limit = max_port_offset(spec)
        if not 0 <= port_offset <= limit:
            ports = [p for _, p in _all_ports(spec)]
            raise TopologyError(
                f"port offset {port_offset} (CBP_PORT_OFFSET): the sandbox's ports run from "
                f"{min(ports)} to {max(ports)} (about {max(ports) - min(ports):,} ports) and, "
                f"shifted, must stay below {ephemeral_floor()}, where this machine hands out "
                f"ephemeral ports; use an offset from 0 to {limit}"
            )
        self.spec = spec
        self.raft_nodes = raft_nodes
        # Shifts every port, so that two sandboxes (say a test run beside a demo) can coexist.
        self.port_offset = port_offset
        self.source: Path = DEFAULT_TOPOLOGY

    def environment(self) -> dict[str, str]:
        """What a child process needs to load this same topology with `load_topology()`."""
        return {"CBP_TOPOLOGY": str(self.source), "CBP_PORT_OFFSET": str(self.port_offset)}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def host(self) -> str:
        return self.spec.host

    @property
    def client_auth_required(self) -> bool:
        """Mutual TLS on the peers' and orderers' client endpoints (topology `tls:`)."""
        return self.spec.tls.client_auth_required

    @cached_property
    def orgs(self) -> dict[str, Org]:
        return {
            k: Org(
                k,
                o.msp_id,
                o.name,
                f"{k}.{self.spec.domain}",
                o.kind,
                o.role,
                o.eic,
                o.bna,
                o.tenant_of,
                None if o.connector_port is None else o.connector_port + self.port_offset,
                o.distributor_code,
                o.writer,
            )
            for k, o in self.spec.organizations.items()
        }

    def org_by_msp(self, msp_id: str) -> Org:
        for org in self.orgs.values():
            if org.msp_id == msp_id:
                return org
        raise KeyError(f"no org with MSP id {msp_id!r} in the topology")

    @property
    def orderer_org(self) -> Org:
        return self.orgs[self.spec.orderer.org]

    @property
    def bna(self) -> Org:
        return next(o for o in self.orgs.values() if o.bna)

    @cached_property
    def orderers(self) -> list[OrdererNode]:
        dom = self.orderer_org.domain
        o = self.port_offset
        return [
            OrdererNode(
                n.name,
                f"{n.name}.{dom}",
                f"{self.host}:{n.port + o}",
                n.port + o,
                n.admin_port + o,
                n.cluster_port + o,
                n.operations_port + o,
            )
            for n in self.spec.orderer.nodes[: self.raft_nodes]
        ]

    @cached_property
    def peers(self) -> list[Peer]:
        out = []
        d = self.port_offset
        for key, o in self.spec.organizations.items():
            for p in o.peers:
                out.append(
                    Peer(
                        key,
                        o.msp_id,
                        p.name,
                        f"{p.name}.{key}.{self.spec.domain}",
                        f"{self.host}:{p.port + d}",
                        p.port + d,
                        p.chaincode_port + d,
                        p.operations_port + d,
                    )
                )
        return out

    def peer(self, host: str) -> Peer:
        for p in self.peers:
            if p.host == host or f"{p.name}.{p.org}" == host:
                return p
        raise KeyError(f"no peer {host!r} in the topology")

    @cached_property
    def channels(self) -> dict[str, Channel]:
        return {
            k: Channel(k, tuple(c.orgs), tuple(c.chaincodes), c.endorsement)
            for k, c in self.spec.channels.items()
        }

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise KeyError(
                f"no channel {name!r} in the topology; channels: {', '.join(self.channels)}"
            ) from None

    def channel_peers(self, channel: str) -> list[Peer]:
        """Peers joined to a channel: those of its member orgs that run peers."""
        orgs = set(self.channel(channel).orgs)
        return [p for p in self.peers if p.org in orgs]

    def peer_channels(self, peer: Peer) -> list[str]:
        return [c for c, spec in self.channels.items() if peer.org in spec.orgs]

    @cached_property
    def chaincodes(self) -> dict[str, Chaincode]:
        d = self.port_offset
        return {
            k: Chaincode(
                k,
                c.contract,
                f"{self.host}:{c.port + d}",
                c.port + d,
                c.endorsement,
                c.version,
                c.sequence,
                tuple(c.collections),
                tuple(c.server) if c.server else None,
                c.autostart,
            )
            for k, c in self.spec.chaincodes.items()
        }

    def users(self, org_key: str) -> list[UserSpec]:
        """Users of an org besides Admin, with role and EIC attributes filled in."""
        org = self.orgs[org_key]
        base = {k: v for k, v in (("role", org.role), ("eic", org.eic)) if v}
        return [UserSpec(name=u.name, attrs={**base, **u.attrs}) for u in self.spec.users]

    def all_ports(self) -> list[tuple[str, int]]:
        """Every (listener, port) of the nodes that run with this raft size (the network's own;
        the organisations' connectors are started apart, by `cbp connector up`)."""
        running = {o.name for o in self.orderers}
        spare = {n.name for n in self.spec.orderer.nodes} - running | {"connector"}
        return [
            (n, p + self.port_offset)
            for n, p in _all_ports(self.spec)
            if n.split(" ")[0] not in spare
        ]


def load_topology(
    path: str | Path | None = None, raft_nodes: int = 1, port_offset: int | None = None
) -> Topology:
    """Read the topology; `CBP_TOPOLOGY` and `CBP_PORT_OFFSET` override the defaults."""
    p = Path(path or os.environ.get("CBP_TOPOLOGY") or DEFAULT_TOPOLOGY)
    if port_offset is None:
        raw_offset = os.environ.get("CBP_PORT_OFFSET", "0")
        try:
            port_offset = int(raw_offset)
        except ValueError:
            raise TopologyError(f"CBP_PORT_OFFSET={raw_offset!r} is not a whole number") from None
    try:
        raw = yamlio.safe_load(p.read_text())
    except FileNotFoundError:
        raise TopologyError(f"topology file {p} not found (--topology or CBP_TOPOLOGY)") from None
    except (OSError, yamlio.YAMLError) as exc:
        raise TopologyError(f"topology file {p} cannot be read as YAML: {exc}") from None
    try:
        spec = TopologySpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise TopologyError(f"topology file {p}: {where}: {first['msg']}") from None
    topology = Topology(spec, raft_nodes=raft_nodes, port_offset=port_offset)
    # the processes the sandbox starts read this same file (CBP_TOPOLOGY in `environment()`)
    topology.source = p.resolve()
    return topology
