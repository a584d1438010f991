"""Ledger facts the `cbp network status` command shows, read through the gateway."""

from __future__ import annotations

from network.paths import SandboxPaths
from network.topology import Topology


def channel_heights(topology: Topology, paths: SandboxPaths) -> dict[str, int | str]:
    """Each channel's height (qscc GetChainInfo) as the admin of a peer org of the channel."""
    from gateway import GatewayError, from_profile

    heights: dict[str, int | str] = {}
    for name in topology.channels:
        peers = topology.channel_peers(name)
        if not peers:
            continue
        try:
            with from_profile(peers[0].org, "Admin", paths.connection_profile) as gw:
                heights[name] = gw.get_network(name).get_chain_info().height
        except GatewayError as exc:
            heights[name] = f"unavailable: {exc}"
    return heights
