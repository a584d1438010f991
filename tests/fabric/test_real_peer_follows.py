"""A partner's real Fabric peer follows the channels the embedded engine serves.

An embedded sandbox gets traffic with every validation code the engine produces, private data
and the registry's journey; then `cbp network add-peer tso` starts a real Fabric v3.1 peer of the
TSO org that joins the org's three channels from the embedded orderer. It must hold the same
blocks - byte for byte, with the same validation codes and the same commit hashes, which chain
every block's state updates - and, from a snapshot it writes, the same world state and private
data hashes as the embedded TSO peer, key by key. It keeps following live traffic, and a
transaction endorsed by it together with an embedded peer commits VALID on both.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fabric_ledgers import (
    differences,
    embedded_blocks,
    embedded_state,
    fabric_blocks,
    fabric_snapshot,
)
from fabric_peercli import PeerTool, output
from fabric_protos.common import common_pb2
from fabric_sandboxes import REPO, FabricNetwork, start_embedded
from fabric_traffic import Traffic

from network.fabric.nodes import node_table
from network.fabric.partner import PartnerPeer, load_partners, partners_dir

pytestmark = pytest.mark.timeout(900)
CODES = {
    "VALID",
    "MVCC_READ_CONFLICT",
    "PHANTOM_READ_CONFLICT",
    "ENDORSEMENT_POLICY_FAILURE",
    "DUPLICATE_TXID",
    "INVALID_CHAINCODE",
}


@dataclass
class Followed:
    net: FabricNetwork
    traffic: Traffic
    partner: PartnerPeer
    cli: PeerTool
    add_output: str

    @property
    def data(self) -> Path:
        return partners_dir(self.net.paths) / self.partner.host / "data"

    def embedded_ledger(self, channel: str) -> Path:
        return self.net.paths.ledger / "peer0.tso.cbp.local" / channel

    def address(self) -> str:
        return f"{self.net.topology.host}:{self.partner.port}"

    def embedded_address(self, host: str) -> str:
        return next(
            n.address for n in node_table(self.net.topology, self.net.paths) if n.name == host
        )

    def wait_level(self, channel: str, timeout: float = 120) -> int:
        """Until the real peer holds as many blocks as the embedded one."""
        deadline = time.monotonic() + timeout
        while True:
            want = len(embedded_blocks(self.embedded_ledger(channel)))
            have = len(fabric_blocks(self.data, channel))
            if have >= want:
                return want
            if time.monotonic() > deadline:
                raise AssertionError(f"{channel}: the real peer holds {have} of {want} blocks")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def followed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Followed]:
    net = start_embedded(tmp_path_factory.mktemp("followed"))
    try:
        with Traffic(str(net.paths.connection_profile)) as traffic:
            traffic.everything()
            res = net.cbp("add-peer", "tso", timeout=600)
            assert res.returncode == 0, (
                f"cbp network add-peer tso failed:\n{res.stdout}{res.stderr}"
            )
            partner = load_partners(net.paths)[0]
            cli = PeerTool(net.topology, net.paths, partners_dir(net.paths) / partner.host)
            yield Followed(net, traffic, partner, cli, res.stdout + res.stderr)
    finally:
        net.cbp("down")


def test_add_peer_reports_each_step_and_shows_in_status(followed: Followed) -> None:
    out = followed.add_output
    host = followed.partner.host
    assert f"{host}: identity and TLS certificate issued by the tso CAs" in out
    for channel in ("bsp1-channel", "bsp2-channel", "p2p-trading"):
        assert f"{host} joined {channel} from the ordering service's block 0" in out
        assert f"{host} caught up with {channel}" in out
    status = followed.net.cbp("status")
    line = next(ln for ln in status.stdout.splitlines() if f"process {host}" in ln)
    assert "alive" in line


def test_real_peer_joined_every_channel_of_its_org(followed: Followed) -> None:
    res = followed.cli.run("tso", followed.address(), "channel", "list")
    assert res.returncode == 0, output(res)
    assert output(res).splitlines()[-3:] == ["bsp1-channel", "bsp2-channel", "p2p-trading"]


def _same_blocks(followed: Followed, channel: str) -> list[int]:
    """Every block of the channel on both peers, compared whole; returns the codes seen."""
    followed.wait_level(channel)
    ours = embedded_blocks(followed.embedded_ledger(channel))
    theirs = fabric_blocks(followed.data, channel)[: len(ours)]
    codes: list[int] = []
    for a, b in zip(ours, theirs, strict=True):
        n = a.header.number
        assert a.header == b.header, f"{channel} block {n}: headers differ"
        assert list(a.data.data) == list(b.data.data), f"{channel} block {n}: data differs"
        flt = common_pb2.TRANSACTIONS_FILTER
        assert a.metadata.metadata[flt] == b.metadata.metadata[flt], (
            f"{channel} block {n}: validation codes differ: embedded "
            f"{list(a.metadata.metadata[flt])}, fabric {list(b.metadata.metadata[flt])}"
        )
        ch = common_pb2.COMMIT_HASH
        assert a.metadata.metadata[ch] == b.metadata.metadata[ch], (
            f"{channel} block {n}: commit hashes differ (the state updates differ)"
        )
        assert a.SerializeToString() == b.SerializeToString(), f"{channel} block {n}"
        codes += list(a.metadata.metadata[flt])
    return codes


def test_real_peer_holds_the_same_blocks_codes_and_commit_hashes(followed: Followed) -> None:
    from fabric_protos.peer import transaction_pb2

    seen: set[str] = set()
    for channel in ("bsp1-channel", "bsp2-channel", "p2p-trading"):
        codes = _same_blocks(followed, channel)
        seen |= {transaction_pb2.TxValidationCode.Name(c) for c in codes}
    assert CODES <= seen, f"the traffic produced {sorted(seen)}"
    assert CODES <= set(followed.traffic.codes)


def _snapshot(followed: Followed, channel: str) -> Path:
    """A snapshot the real peer writes of its state at its last block."""
    height = followed.wait_level(channel)
    flags = ["--peerAddress", followed.address(), "--tlsRootCertFile"]
    flags.append(str(followed.cli.crypto.tlsca_cert("tso")))
    res = followed.cli.run(
        "tso", followed.address(), "snapshot", "submitrequest", "-c", channel, "-b", "0", *flags
    )
    assert res.returncode == 0, output(res)
    folder = followed.data / "snapshots" / "completed" / channel / str(height - 1)
    deadline = time.monotonic() + 60
    while not (folder / "_snapshot_signable_metadata.json").exists():
        assert time.monotonic() < deadline, f"no snapshot in {folder}"
        time.sleep(0.2)
    return folder


def test_real_peer_state_and_private_hashes_equal_the_embedded_peers(followed: Followed) -> None:
    for channel in ("bsp1-channel", "bsp2-channel", "p2p-trading"):
        real_public, real_hashes = fabric_snapshot(_snapshot(followed, channel))
        ours_public, ours_hashes = embedded_state(followed.embedded_ledger(channel))
        assert differences(real_public, ours_public) == [], channel
        assert differences(real_hashes, ours_hashes) == [], channel
        assert real_public == ours_public and real_hashes == ours_hashes
        # what was compared: the channel config, every definition, the chaincodes' keys...
        public = {ns for ns, _ in real_public}
        assert {"", "_lifecycle", "smoke"} <= public, channel
        hashes = {ns for ns, _ in real_hashes}
        assert "_lifecycle$$h_implicit_org_TSOMSP" in hashes  # ...the orgs' approvals...
        if channel == "bsp1-channel":  # ...the registry, and three collections' hashes
            assert "registry" in public
            assert {"smoke$$htsoPrivate", "smoke$$h_implicit_org_TSOMSP"} <= hashes
            assert "smoke$$h_implicit_org_BSPHostMSP" in hashes


def test_real_peer_keeps_following_live_traffic(followed: Followed) -> None:
    before = len(fabric_blocks(followed.data, "bsp1-channel"))
    followed.traffic.live()
    followed.traffic.registry_journey()
    _same_blocks(followed, "bsp1-channel")
    _same_blocks(followed, "bsp2-channel")
    assert len(fabric_blocks(followed.data, "bsp1-channel")) > before + 5


def test_real_and_embedded_peer_endorse_one_transaction_valid_on_both(followed: Followed) -> None:
    """The registry needs the TSO's peer and a host's: here the TSO's is the real one."""
    from fabric_traffic import _pod

    code = f"IT002E{int(time.time() * 1000) % 10**8:08d}"
    cli = followed.cli
    host_peer = followed.embedded_address("peer0.bsphost.cbp.local")
    args = '{"Args":["RegisterPod",' + _json_str(_pod(code)) + "]}"
    res = cli.run(
        "bsp1",
        followed.address(),
        "chaincode", "invoke", *cli.orderer_flags(), "-C", "bsp1-channel", "-n", "registry",
        "-c", args, "--waitForEvent",
        *cli.peer_flags(("tso", followed.address()), ("bsphost", host_peer)),
        logging="INFO",
    )  # fmt: skip
    text = output(res)
    assert res.returncode == 0, text
    assert f"committed with status (VALID) at {followed.address()}" in text
    assert f"committed with status (VALID) at {host_peer}" in text
    blocks = _same_blocks(followed, "bsp1-channel")
    assert blocks[-1] == 0
    query = cli.run(
        "tso", followed.embedded_address("peer0.tso.cbp.local"),
        "chaincode", "query", "-C", "bsp1-channel", "-n", "registry", "-c",
        '{"Args":["ReadPod","' + code + '"]}',
    )  # fmt: skip
    assert query.returncode == 0 and f'"meteringPointId":"{code}"' in query.stdout.replace(" ", "")


def _json_str(value: Any) -> str:
    import json

    return json.dumps(json.dumps(value))


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbp", "audit", "verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_audit_verify_reads_the_real_peers_block_file(followed: Followed, tmp_path: Path) -> None:
    source = (
        followed.data / "ledgersData" / "chains" / "chains" / "bsp1-channel" / "blockfile_000000"
    )
    copy = tmp_path / "blockfile_000000"
    shutil.copyfile(source, copy)
    ok = _audit("bsp1-channel", "--block-file", str(copy))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK: ") and "hash-chained and signed" in ok.stdout
    # one byte of a transaction in block 3 changed: that block, and no other, is named
    blocks = fabric_blocks(followed.data, "bsp1-channel")
    target = bytes(blocks[3].data.data[0])
    data = bytearray(copy.read_bytes())
    at = data.find(target) + len(target) // 2
    data[at] ^= 0x01
    copy.write_bytes(bytes(data))
    bad = _audit("bsp1-channel", "--block-file", str(copy))
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "FAILED" in bad.stdout and "block(s) 3" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_down_stops_the_real_peer_and_add_peer_restarts_it_on_its_ledgers(
    followed: Followed,
) -> None:
    net, host = followed.net, followed.partner.host
    before = len(fabric_blocks(followed.data, "bsp1-channel"))
    down = net.cbp("down")
    assert down.returncode == 0 and f"stopped {host}" in down.stdout
    assert net.cbp("up", timeout=120).returncode == 0
    res = net.cbp("add-peer", "tso", timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert f"{host} starting again, with its ledgers" in out and "joined" not in out
    assert [p.host for p in load_partners(net.paths)] == [host]  # no second peer
    with Traffic(str(net.paths.connection_profile)) as traffic:
        traffic.live(2)
    _same_blocks(followed, "bsp1-channel")
    assert len(fabric_blocks(followed.data, "bsp1-channel")) > before


def test_real_and_embedded_peer_compute_the_same_private_data_rwsets(followed: Followed) -> None:
    """A private write endorsed by the real and the embedded TSO peer: the CLI compares their
    response payloads byte for byte (Fabric's read set of such a transaction carries the
    `_lifecycle` keys its collection check reads), and both keep the value."""
    import base64

    cli = followed.cli
    embedded = followed.embedded_address("peer0.tso.cbp.local")
    value = base64.b64encode(b"both keep it").decode()
    for coll in ("tsoPrivate", "_implicit_org_TSOMSP"):
        res = cli.run(
            "tso", embedded,
            "chaincode", "invoke", *cli.orderer_flags(), "-C", "bsp1-channel", "-n", "smoke",
            "-c", '{"Args":["PutPrivate","' + coll + '","joint-private"]}',
            "--transient", '{"value":"' + value + '"}', "--waitForEvent",
            *cli.peer_flags(("tso", followed.address()), ("tso", embedded)),
            logging="INFO",
        )  # fmt: skip
        text = output(res)
        assert res.returncode == 0, text
        assert text.count("committed with status (VALID)") == 2, text
        for address in (followed.address(), embedded):
            got = cli.run(
                "tso", address,
                "chaincode", "query", "-C", "bsp1-channel", "-n", "smoke", "-c",
                '{"Args":["GetPrivate","' + coll + '","joint-private"]}',
            )  # fmt: skip
            assert got.stdout.strip() == "both keep it", (address, output(got))
    _same_blocks(followed, "bsp1-channel")
