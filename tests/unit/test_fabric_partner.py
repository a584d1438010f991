"""`cbp network add-peer`: the plan of a partner's peer, its identity, its config, its refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from network.fabric import FabricError
from network.fabric.config import render_node_config
from network.fabric.partner import PVT_PULL_RETRY, partner_node, plan
from network.identities import CryptoLayout
from network.paths import sandbox_paths
from network.topology import Topology

REPO = Path(__file__).resolve().parents[2]


def test_partner_peer_takes_the_next_name_and_the_orgs_ports_plus_ten(
    topology: Topology, tmp_path: Path
) -> None:
    p = plan(topology, sandbox_paths(tmp_path), "tso")
    first = next(q for q in topology.peers if q.org == "tso")
    assert p.host == "peer1.tso.cbp.local" and p.index == 1
    assert (p.port, p.chaincode_port, p.operations_port) == (
        first.port + 10,
        first.chaincode_port + 10,
        first.operations_port + 10,
    )
    taken = {port for _, port in topology.all_ports()}
    assert not {p.port, p.chaincode_port, p.operations_port} & taken


def test_partner_peer_refuses_tenants_and_unknown_orgs(topology: Topology, tmp_path: Path) -> None:
    with pytest.raises(FabricError, match="org bsp1 runs no peer in the topology"):
        plan(topology, sandbox_paths(tmp_path), "bsp1")
    with pytest.raises(FabricError, match=r"no org 'nope' in the topology; orgs: .*tso"):
        plan(topology, sandbox_paths(tmp_path), "nope")


def test_partner_identity_is_issued_by_the_orgs_own_cas(
    topology: Topology, crypto: CryptoLayout
) -> None:
    d = crypto.issue_peer("tso", "peer7.tso.cbp.local")
    cert = x509.load_pem_x509_certificate(crypto.signcert(d).read_bytes())
    ca = x509.load_pem_x509_certificate(crypto.ca_cert("tso").read_bytes())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    ous = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    assert ous == ["peer"]  # a peer under the org's NodeOUs
    tls = x509.load_pem_x509_certificate((d / "tls" / "server.crt").read_bytes())
    tls.verify_directly_issued_by(
        x509.load_pem_x509_certificate(crypto.tlsca_cert("tso").read_bytes())
    )
    sans = tls.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert "peer7.tso.cbp.local" in sans.get_values_for_type(x509.DNSName)
    assert (d / "tls" / "server.key").stat().st_mode & 0o077 == 0


def test_partner_config_is_the_peer_template_not_waiting_for_gossip(
    topology: Topology, tmp_path: Path
) -> None:
    paths = sandbox_paths(tmp_path)
    node = partner_node(topology, paths, plan(topology, paths, "tso"))
    text = render_node_config(node, topology, paths, pvt_pull_retry=PVT_PULL_RETRY)
    assert f"pullRetryThreshold: {PVT_PULL_RETRY}" in text
    assert f"listenAddress: {node.address}" in text and "localMspId: TSOMSP" in text


def _cbp(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbp", "network", *args, "--home", str(home)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_add_peer_says_what_is_missing(tmp_path: Path) -> None:
    res = _cbp("add-peer", home=tmp_path)
    assert res.returncode == 2 and "the following arguments are required: org" in res.stderr
    res = _cbp("add-peer", "tso", home=tmp_path)
    assert res.returncode == 2 and "the sandbox is not running" in res.stderr
    res = _cbp("add-peer", "bsp1", home=tmp_path)
    assert res.returncode == 2 and "org bsp1 runs no peer in the topology" in res.stderr
    assert "Traceback" not in res.stderr
