"""Fabric's own `peer` CLI against the embedded engine, beside the same commands on real Fabric.

Each command runs as an org admin against one network and then the other; what it prints must
be equal once what depends on keys or time (package hashes, block hashes, transaction ids,
ports) is masked. The lifecycle set defines sequence 2 of `smoke` on bsp2-channel through every
step an operator takes: queryinstalled, queryapproved, checkcommitreadiness, approveformyorg by
each peer org, commit, querycommitted with each org's approval.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fabric_peercli import PeerTool, output, without_keys
from fabric_sandboxes import FabricNetwork

from gateway import from_profile
from network.fabric import lifecycle as lc
from network.fabric.nodes import node_table

pytestmark = pytest.mark.timeout(900)
CHANNEL = "bsp2-channel"


@dataclass
class Side:
    name: str
    net: FabricNetwork
    tool: PeerTool

    def address(self, org: str) -> str:
        return next(
            n.address
            for n in node_table(self.net.topology, self.net.paths)
            if n.kind == "peer" and n.org == org
        )

    def peer(self, org: str, *args: str, logging: str = "WARNING") -> Any:
        return self.tool.run(org, self.address(org), *args, logging=logging)

    def collections_file(self, work: Path) -> Path:
        f = work / f"{self.name}-collections.json"
        f.write_text(json.dumps(lc.collections_config(self.net.topology.chaincodes["smoke"])))
        return f

    def height(self, channel: str) -> int:
        with from_profile("tso", "User1", str(self.net.paths.connection_profile)) as gw:
            return int(gw.get_network(channel).get_chain_info().height)


@pytest.fixture(scope="module")
def sides(
    fabric_network: FabricNetwork, embedded_sandbox: FabricNetwork, tmp_path_factory: Any
) -> Iterator[tuple[Side, Side]]:
    work = tmp_path_factory.mktemp("peer-cli")
    yield (
        Side(
            "embedded",
            embedded_sandbox,
            PeerTool.for_sandbox(embedded_sandbox.topology, embedded_sandbox.paths, work / "e"),
        ),
        Side(
            "fabric",
            fabric_network,
            PeerTool.for_sandbox(fabric_network.topology, fabric_network.paths, work / "f"),
        ),
    )


def both(sides: tuple[Side, Side], org: str, *args: str, logging: str = "WARNING") -> list[str]:
    """The command on each side; fails naming the side where it failed."""
    outs = []
    for side in sides:
        res = side.peer(org, *args, logging=logging)
        assert res.returncode == 0, f"{side.name}: peer {' '.join(args)}:\n{output(res)}"
        outs.append(without_keys(output(res)))
    return outs


def test_peer_channel_list(sides: tuple[Side, Side]) -> None:
    embedded, fabric = both(sides, "tso", "channel", "list")
    # Fabric lists a peer's channels in no fixed order (a Go map): compare the lines as sets
    assert embedded.splitlines()[0] == fabric.splitlines()[0] == "Channels peers has joined:"
    assert sorted(embedded.splitlines()[1:]) == sorted(fabric.splitlines()[1:])
    assert sorted(embedded.splitlines()[1:]) == ["bsp1-channel", "bsp2-channel", "p2p-trading"]


def test_peer_channel_getinfo(sides: tuple[Side, Side]) -> None:
    for side in sides:
        res = side.peer("tso", "channel", "getinfo", "-c", "bsp1-channel")
        assert res.returncode == 0, f"{side.name}: {output(res)}"
        text = output(res)
        info = json.loads(text.split("Blockchain info: ", 1)[1])
        assert info["height"] == side.height("bsp1-channel"), side.name
        assert set(info) == {"height", "currentBlockHash", "previousBlockHash"}


def test_peer_channel_fetch(sides: tuple[Side, Side], tmp_path: Path) -> None:
    for side in sides:
        for which in ("0", "config", "newest"):
            out = tmp_path / f"{side.name}-{which}.block"
            res = side.peer(
                "tso",
                "channel", "fetch", which, str(out), "-c", "bsp1-channel",
                *side.tool.orderer_flags(),
                logging="INFO",
            )  # fmt: skip
            assert res.returncode == 0, f"{side.name}: {output(res)}"
            assert "Received block: " in output(res)
        genesis = side.net.paths.genesis_block("bsp1-channel").read_bytes()
        assert (tmp_path / f"{side.name}-0.block").read_bytes() == genesis
        assert (tmp_path / f"{side.name}-config.block").read_bytes() == genesis


def _installed(text: str) -> list[Any]:
    data = json.loads(text)
    rows = data["installed_chaincodes"]
    for r in rows:
        for refs in (r.get("references") or {}).values():
            refs["chaincodes"].sort(key=lambda c: c["name"])
    return sorted(rows, key=lambda r: r["label"])


def test_peer_lifecycle_chaincode_set(sides: tuple[Side, Side], tmp_path: Path) -> None:
    policy = "OR('TSOMSP.peer', 'BSPHostMSP.peer', 'DSOHostMSP.peer', 'InfraOpMSP.peer')"
    installed = both(sides, "tso", "lifecycle", "chaincode", "queryinstalled", "-O", "json")
    assert _installed(installed[0]) == _installed(installed[1])
    assert {r["label"] for r in _installed(installed[0])} >= {"registry_1.0", "smoke_1.0"}

    approved = both(
        sides, "tso", "lifecycle", "chaincode", "queryapproved", "-C", CHANNEL, "-n", "smoke",
        "-O", "json",
    )  # fmt: skip
    assert approved[0] == approved[1]
    assert json.loads(approved[0])["sequence"] == 1

    def definition(side: Side) -> list[str]:
        return [
            "-C", CHANNEL, "-n", "smoke", "-v", "1.0", "--sequence", "2",
            "--signature-policy", policy, "--collections-config",
            str(side.collections_file(tmp_path)),
        ]  # fmt: skip

    def readiness() -> list[str]:
        return [
            without_keys(
                output(
                    side.peer(
                        "tso",
                        "lifecycle",
                        "chaincode",
                        "checkcommitreadiness",
                        *definition(side),
                        "-O",
                        "json",
                    )  # fmt: skip
                )
            )
            for side in sides
        ]

    before = readiness()
    assert before[0] == before[1]
    assert json.loads(before[0])["approvals"] == {  # every org of the channel, the auditor too
        "ARETIMSP": False,
        "BSP2MSP": False,
        "BSPHostMSP": False,
        "DSOHostMSP": False,
        "RegulatorMSP": False,
        "TSOMSP": False,
    }
    for org in ("tso", "bsphost", "dsohost"):
        outs = []
        for side in sides:
            mine = _installed(
                output(side.peer(org, "lifecycle", "chaincode", "queryinstalled", "-O", "json"))
            )
            package = next(r["package_id"] for r in mine if r["label"] == "smoke_1.0")
            res = side.peer(
                org, "lifecycle", "chaincode", "approveformyorg", *side.tool.orderer_flags(),
                *definition(side), "--package-id", package, logging="INFO",
            )  # fmt: skip
            assert res.returncode == 0, f"{side.name} {org}: {output(res)}"
            outs.append(without_keys(output(res)))
        assert outs[0] == outs[1], org
        assert "committed with status (VALID)" in outs[0]
    after = readiness()
    assert after[0] == after[1]
    assert json.loads(after[0])["approvals"] == {
        "ARETIMSP": False,
        "BSP2MSP": False,
        "BSPHostMSP": True,
        "DSOHostMSP": True,
        "RegulatorMSP": False,
        "TSOMSP": True,
    }
    commits = []
    for side in sides:
        targets = [(org, side.address(org)) for org in ("tso", "bsphost", "dsohost")]
        res = side.peer(
            "tso", "lifecycle", "chaincode", "commit", *side.tool.orderer_flags(),
            *definition(side), *side.tool.peer_flags(*targets), logging="INFO",
        )  # fmt: skip
        assert res.returncode == 0, f"{side.name}: {output(res)}"
        commits.append(without_keys(output(res)))
    assert commits[0] == commits[1]
    committed = both(
        sides, "tso", "lifecycle", "chaincode", "querycommitted", "-C", CHANNEL, "-n", "smoke",
        "-O", "json",
    )  # fmt: skip
    assert committed[0] == committed[1]
    assert json.loads(committed[0])["approvals"] == json.loads(after[0])["approvals"]
    assert json.loads(committed[0])["sequence"] == 2
    human = both(sides, "tso", "lifecycle", "chaincode", "querycommitted", "-C", CHANNEL)
    assert sorted(human[0].splitlines()) == sorted(human[1].splitlines())
    latest = both(
        sides, "dsohost", "lifecycle", "chaincode", "queryapproved", "-C", CHANNEL, "-n", "smoke",
    )  # fmt: skip
    assert latest[0] == latest[1] and "sequence: 2" in latest[0]


def test_peer_chaincode_invoke_and_query(sides: tuple[Side, Side]) -> None:
    for_args = '{"Args":["Put","cli-key","cli-value"]}'
    invoked = []
    for side in sides:
        res = side.peer(
            "tso", "chaincode", "invoke", *side.tool.orderer_flags(), "-C", "bsp1-channel",
            "-n", "smoke", "-c", for_args, "--waitForEvent",
            *side.tool.peer_flags(("tso", side.address("tso"))),
            logging="INFO",
        )  # fmt: skip
        assert res.returncode == 0, f"{side.name}: {output(res)}"
        invoked.append(without_keys(output(res)))
    assert invoked[0] == invoked[1]
    assert "Chaincode invoke successful. result: status:200" in invoked[0]
    queried = both(
        sides, "tso", "chaincode", "query", "-C", "bsp1-channel", "-n", "smoke", "-c",
        '{"Args":["Get","cli-key"]}',
    )  # fmt: skip
    assert queried == ["cli-value", "cli-value"]


def test_peer_chaincode_query_refused_to_another_bsp(sides: tuple[Side, Side]) -> None:
    refusals = []
    for side in sides:
        res = side.tool.run(
            "bsp2", side.address("bsphost"),
            "chaincode", "query", "-C", "bsp1-channel", "-n", "smoke", "-c",
            '{"Args":["Get","cli-key"]}',
            peer_org="bsphost",
        )  # fmt: skip
        assert res.returncode != 0, side.name
        refusals.append(without_keys(output(res)))
    assert refusals[0] == refusals[1]
    assert "creator org [BSP2MSP]" in refusals[0] or "access denied" in refusals[0]


def test_peer_lifecycle_install_and_getinstalledpackage(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    outs = []
    for side in sides:
        conn = side.net.paths.connection_json("smoke").read_bytes()
        package = tmp_path / f"{side.name}-cli.tar.gz"
        package.write_bytes(lc.build_package(conn, "cli-smoke_2.0"))
        pid = lc.package_id("cli-smoke_2.0", package.read_bytes())
        res = side.peer("tso", "lifecycle", "chaincode", "install", str(package), logging="INFO")
        assert res.returncode == 0, f"{side.name}: {output(res)}"
        outs.append(without_keys(output(res)))
        again = side.peer("tso", "lifecycle", "chaincode", "install", str(package))
        assert again.returncode != 0
        outs.append(without_keys(output(again)))
        got = tmp_path / side.name
        got.mkdir()
        res = side.peer(
            "tso", "lifecycle", "chaincode", "getinstalledpackage", "--package-id", pid,
            "--output-directory", str(got),
        )  # fmt: skip
        assert res.returncode == 0, f"{side.name}: {output(res)}"
        assert (got / f"{pid}.tar.gz").read_bytes() == package.read_bytes()
    assert outs[0] == outs[2] and outs[1] == outs[3]
    assert "Chaincode code package identifier: cli-smoke_2.0:<package hash>" in outs[0]
    assert "chaincode already successfully installed" in outs[1]
