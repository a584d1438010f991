"""Channels on real Fabric: orderers join through `osnadmin channel join`, peers through
`peer channel join`, each with the project's own genesis block; anchor peers are checked in
the joined channel's config (the project's genesis blocks already declare them).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.peer import configuration_pb2 as peer_config_pb2

from .cli import OsnAdmin, PeerCLI
from .errors import FabricError

log = logging.getLogger(__name__)


def join_orderer(admin: OsnAdmin, channels: dict[str, Path]) -> list[str]:
    """Joins the orderer to each channel it does not have yet; returns those it joined."""
    have = set(admin.list_channels())
    joined = []
    for channel, block in channels.items():
        if channel in have:
            continue
        admin.join(channel, block)
        joined.append(channel)
    return joined


def wait_orderer_active(admin: OsnAdmin, channel: str, timeout: float = 60.0) -> dict[str, object]:
    """Waits until the orderer reports the channel active (a Raft member with a leader soon)."""
    deadline = time.monotonic() + timeout
    info: dict[str, object] = {}
    while time.monotonic() < deadline:
        info = admin.channel_info(channel)
        if info.get("status") == "active":
            return info
        time.sleep(0.3)
    raise FabricError(
        f"orderer {admin.node.name}: channel {channel} is {info.get('status')!r}, not active, "
        f"after {timeout:.0f}s; read {admin.node.log}"
    )


def join_peer(cli: PeerCLI, channels: dict[str, Path]) -> list[str]:
    have = set(cli.channels())
    joined = []
    for channel, block in channels.items():
        if channel in have:
            continue
        cli.run(f"peer channel join {channel}", "channel", "join", "-b", str(block), timeout=120)
        joined.append(channel)
    return joined


def anchor_peers(block: Path) -> dict[str, list[str]]:
    """MSP id -> anchor peer endpoints declared in a channel's genesis (config) block."""
    blk = common_pb2.Block()
    blk.ParseFromString(block.read_bytes())
    env = common_pb2.Envelope()
    env.ParseFromString(blk.data.data[0])
    payload = common_pb2.Payload()
    payload.ParseFromString(env.payload)
    cfg_env = configtx_pb2.ConfigEnvelope()
    cfg_env.ParseFromString(payload.data)
    app = cfg_env.config.channel_group.groups["Application"]
    out: dict[str, list[str]] = {}
    for msp_id, group in app.groups.items():
        if "AnchorPeers" not in group.values:
            continue
        anchors = peer_config_pb2.AnchorPeers()
        anchors.ParseFromString(group.values["AnchorPeers"].value)
        out[msp_id] = [f"{a.host}:{a.port}" for a in anchors.anchor_peers]
    return out
