"""A channel's configuration, read from its config block into the values the engine uses.

The config tree is Fabric's: /Channel with groups Application (one group per member org, values
MSP, AnchorPeers; ACLs, Capabilities) and Orderer (BatchSize, BatchTimeout, orderer orgs).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TypeVar

from fabric_protos.common import common_pb2, configtx_pb2, configuration_pb2
from fabric_protos.msp import msp_config_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config_pb2
from fabric_protos.peer import configuration_pb2 as peer_config_pb2
from google.protobuf.message import Message

from .msp import MSPManager
from .policies import PolicyManager

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """The config block is malformed or lacks a value the engine needs."""


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string such as '250ms', '2s' or '1m30s'."""
    if text in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ConfigError(f"duration {text!r} is not a Go duration such as 250ms or 2s")
    return total


def config_from_block(block: common_pb2.Block) -> configtx_pb2.Config:
    if len(block.data.data) != 1:
        raise ConfigError(f"config block {block.header.number} must hold exactly one envelope")
    env = common_pb2.Envelope.FromString(block.data.data[0])
    payload = common_pb2.Payload.FromString(env.payload)
    chdr = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    if chdr.type != common_pb2.CONFIG:
        raise ConfigError(
            f"block {block.header.number} is not a config block (header type {chdr.type})"
        )
    return configtx_pb2.ConfigEnvelope.FromString(payload.data).config


def channel_id_of_block(block: common_pb2.Block) -> str:
    env = common_pb2.Envelope.FromString(block.data.data[0])
    payload = common_pb2.Payload.FromString(env.payload)
    return common_pb2.ChannelHeader.FromString(payload.header.channel_header).channel_id


M = TypeVar("M", bound=Message)


def _value(group: configtx_pb2.ConfigGroup, key: str, cls: type[M]) -> M | None:
    if key not in group.values:
        return None
    return cls.FromString(group.values[key].value)


def _capabilities(group: configtx_pb2.ConfigGroup | None) -> set[str]:
    if group is None:
        return set()
    caps = _value(group, "Capabilities", configuration_pb2.Capabilities)
    return set(caps.capabilities.keys()) if caps is not None else set()


@dataclass
class ChannelConfig:
    channel_id: str
    sequence: int
    config: configtx_pb2.Config
    msp_manager: MSPManager
    policy_manager: PolicyManager
    orgs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    org_names: dict[str, str] = field(default_factory=dict)
    orderer_orgs: list[str] = field(default_factory=list)
    max_message_count: int = 500
    absolute_max_bytes: int = 10 * 1024 * 1024
    preferred_max_bytes: int = 2 * 1024 * 1024
    batch_timeout: float = 2.0
    acls: dict[str, str] = field(default_factory=dict)
    capabilities: dict[str, set[str]] = field(default_factory=dict)
    hashing_algorithm: str = "SHA256"
    digest: bytes = b""  # SHA-256 of the serialised config: identifies this exact config

    @classmethod
    def from_block(cls, block: common_pb2.Block, channel_id: str | None = None) -> ChannelConfig:
        cfg = config_from_block(block)
        return cls.from_config(cfg, channel_id or channel_id_of_block(block))

    @classmethod
    def from_config(cls, config: configtx_pb2.Config, channel_id: str = "") -> ChannelConfig:
        root = config.channel_group
        msp_configs: list[msp_config_pb2.MSPConfig] = []
        orgs: dict[str, list[tuple[str, int]]] = {}
        org_names: dict[str, str] = {}
        orderer_orgs: list[str] = []
        app = root.groups["Application"] if "Application" in root.groups else None
        orderer = root.groups["Orderer"] if "Orderer" in root.groups else None
        for section, target in ((app, "app"), (orderer, "orderer")):
            if section is None:
                continue
            for org_name, org in section.groups.items():
                mspc = _value(org, "MSP", msp_config_pb2.MSPConfig)
                if mspc is None:
                    raise ConfigError(f"org {org_name} of channel {channel_id} has no MSP value")
                msp_configs.append(mspc)
                msp_id = msp_config_pb2.FabricMSPConfig.FromString(mspc.config).name
                if target == "app":
                    anchors = _value(org, "AnchorPeers", peer_config_pb2.AnchorPeers)
                    orgs[msp_id] = (
                        [(a.host, a.port) for a in anchors.anchor_peers]
                        if anchors is not None
                        else []
                    )
                    org_names[msp_id] = org_name
                else:
                    orderer_orgs.append(msp_id)
        msp_manager = MSPManager.from_msp_configs(msp_configs)
        policy_manager = PolicyManager.from_group("Channel", root, msp_manager)
        out = cls(
            digest=hashlib.sha256(config.SerializeToString()).digest(),
            channel_id=channel_id,
            sequence=config.sequence,
            config=config,
            msp_manager=msp_manager,
            policy_manager=policy_manager,
            orgs=orgs,
            org_names=org_names,
            orderer_orgs=orderer_orgs,
        )
        if orderer is not None:
            bs = _value(orderer, "BatchSize", orderer_config_pb2.BatchSize)
            if bs is not None:
                out.max_message_count = bs.max_message_count
                out.absolute_max_bytes = bs.absolute_max_bytes
                out.preferred_max_bytes = bs.preferred_max_bytes
            bt = _value(orderer, "BatchTimeout", orderer_config_pb2.BatchTimeout)
            if bt is not None:
                out.batch_timeout = parse_duration(bt.timeout)
        if app is not None:
            acls = _value(app, "ACLs", peer_config_pb2.ACLs)
            if acls is not None:
                out.acls = {k: v.policy_ref for k, v in acls.acls.items()}
        out.capabilities = {
            "Channel": _capabilities(root),
            "Application": _capabilities(app),
            "Orderer": _capabilities(orderer),
        }
        ha = _value(root, "HashingAlgorithm", configuration_pb2.HashingAlgorithm)
        if ha is not None and ha.name:
            out.hashing_algorithm = ha.name
        return out

    def policy_ref(self, acl_name: str, default: str) -> str:
        """The policy path an ACL resolves to; relative refs live under /Channel/Application."""
        ref = self.acls.get(acl_name, default)
        return ref if ref.startswith("/") else f"/Channel/Application/{ref}"

    def is_member(self, msp_id: str) -> bool:
        return msp_id in self.orgs
