"""Chaincode lifecycle for chaincode-as-a-service packages: package, install, approve, commit.

Packages are built by `network.ccaas`, byte for byte as the embedded engine builds them, so
a chaincode has the same package id on both engines.
Every step first asks Fabric whether it is already done, so `up` twice is harmless.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import ccaas
from ..paths import SandboxPaths
from ..topology import Chaincode, Topology
from .cli import PeerCLI
from .errors import FabricError, MaterialMissing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CcaasPackage:
    chaincode: str
    label: str
    path: Path
    package_id: str


def package_label(cc: Chaincode) -> str:
    return ccaas.package_label(cc.name, cc.version)


build_package = ccaas.build_package
package_id = ccaas.package_id


def write_package(
    topology: Topology, paths: SandboxPaths, name: str, out_dir: Path
) -> CcaasPackage:
    cc = topology.chaincodes[name]
    conn = paths.connection_json(name)
    if not conn.exists():
        raise MaterialMissing(
            f"chaincode {name}: {conn} is missing; the sandbox writes it before starting an "
            "engine (`cbp network up` does)"
        )
    label = package_label(cc)
    data = build_package(conn.read_bytes(), label)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.tar.gz"
    path.write_bytes(data)
    return CcaasPackage(name, label, path, package_id(label, data))


def collections_config(cc: Chaincode) -> list[dict[str, object]]:
    """The collections as `peer lifecycle ... --collections-config` reads them."""
    return [
        {
            "name": c.name,
            "policy": c.policy,
            "requiredPeerCount": c.required_peer_count,
            "maxPeerCount": c.max_peer_count,
            "blockToLive": c.block_to_live,
            "memberOnlyRead": c.member_only_read,
            "memberOnlyWrite": c.member_only_write,
        }
        for c in cc.collections
    ]


def check_collections(cc: Chaincode, channel: str, channel_msps: set[str]) -> None:
    """Fabric refuses a collection whose policy names an org outside the channel; say so
    before approving, naming the topology entry to fix."""
    for c in cc.collections:
        named = set(re.findall(r"'([A-Za-z0-9_.-]+)\.[a-z]+'", c.policy))
        outside = sorted(named - channel_msps)
        if outside:
            raise FabricError(
                f"chaincode {cc.name}, collection {c.name} on channel {channel}: its policy "
                f"{c.policy!r} names {', '.join(outside)}, not members of {channel}; Fabric "
                "refuses such a definition (collection member is not part of the channel). "
                "Fix the collection policy in topology.yaml or deploy the chaincode elsewhere"
            )


def installed_package_ids(cli: PeerCLI) -> set[str]:
    out = cli.run(
        "peer lifecycle chaincode queryinstalled",
        "lifecycle",
        "chaincode",
        "queryinstalled",
        "-O",
        "json",
    )
    data = _json(out)
    return {c["package_id"] for c in (data.get("installed_chaincodes") or [])}


def install(cli: PeerCLI, pkg: CcaasPackage) -> bool:
    """Installs on the CLI's peer; False if it was installed already."""
    if pkg.package_id in installed_package_ids(cli):
        return False
    out = cli.run(
        f"install {pkg.chaincode}", "lifecycle", "chaincode", "install", str(pkg.path), timeout=300
    )
    m = re.search(r"identifier:\s*(\S+)", out)
    if m and m.group(1) != pkg.package_id:
        raise RuntimeError(
            f"chaincode {pkg.chaincode}: the peer computed package id {m.group(1)}, expected "
            f"{pkg.package_id}; the package file changed while installing"
        )
    return True


def _definition_args(cc: Chaincode, channel: str, collections_file: Path | None) -> list[str]:
    args = [
        "--channelID",
        channel,
        "--name",
        cc.name,
        "--version",
        cc.version,
        "--sequence",
        str(cc.sequence),
        "--signature-policy",
        cc.endorsement,
    ]
    if collections_file is not None:
        args += ["--collections-config", str(collections_file)]
    return args


def committed_sequence(cli: PeerCLI, channel: str, name: str) -> int:
    """The committed definition's sequence, 0 if none."""
    try:
        out = cli.run(
            "querycommitted",
            "lifecycle",
            "chaincode",
            "querycommitted",
            "--channelID",
            channel,
            "--name",
            name,
            "-O",
            "json",
            attempts_for=5,
        )
    except Exception as exc:  # noqa: BLE001 - "not found" is the answer, not a failure
        if "is not defined" in str(exc) or "not found" in str(exc):
            return 0
        raise
    return int(_json(out).get("sequence", 0))


def committed(cli: PeerCLI, channel: str) -> dict[str, dict[str, object]]:
    """Every committed chaincode definition on a channel: name -> {version, sequence}."""
    out = cli.run(
        "querycommitted",
        "lifecycle",
        "chaincode",
        "querycommitted",
        "--channelID",
        channel,
        "-O",
        "json",
        attempts_for=5,
    )
    defs = _json(out).get("chaincode_definitions") or []
    return {d["name"]: {"version": d.get("version"), "sequence": d.get("sequence")} for d in defs}


def approvals(
    cli: PeerCLI, cc: Chaincode, channel: str, collections_file: Path | None
) -> dict[str, bool]:
    out = cli.run(
        "checkcommitreadiness",
        "lifecycle",
        "chaincode",
        "checkcommitreadiness",
        *_definition_args(cc, channel, collections_file),
        "-O",
        "json",
    )
    return {k: bool(v) for k, v in (_json(out).get("approvals") or {}).items()}


def approve(
    cli: PeerCLI, cc: Chaincode, channel: str, pkg: CcaasPackage, collections_file: Path | None
) -> None:
    cli.run(
        f"approveformyorg {cc.name} on {channel}",
        "lifecycle",
        "chaincode",
        "approveformyorg",
        *cli.orderer_flags(),
        *_definition_args(cc, channel, collections_file),
        "--package-id",
        pkg.package_id,
        timeout=120,
        attempts_for=90,
    )


def commit(
    cli: PeerCLI,
    cc: Chaincode,
    channel: str,
    endorsers: list[PeerCLI],
    collections_file: Path | None,
) -> None:
    targets: list[str] = []
    for e in endorsers:
        targets += ["--peerAddresses", e.node.address, "--tlsRootCertFiles", str(e.node.tls_ca)]
    cli.run(
        f"commit {cc.name} on {channel}",
        "lifecycle",
        "chaincode",
        "commit",
        *cli.orderer_flags(),
        *_definition_args(cc, channel, collections_file),
        *targets,
        timeout=120,
        attempts_for=90,
    )


def _json(output: str) -> dict[str, Any]:
    m = re.search(r"\{.*\}", output, re.S)
    if not m:
        return {}
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
