"""Mutual TLS as a topology option, on a running embedded engine: with
`tls.client_auth_required`, a client with its organisation's TLS certificate is served, one
without a certificate or with one from a CA the network does not know is refused, at the peers
and at the orderer alike."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from fabric_protos.orderer import ab_pb2_grpc

from cbp.faults import messages
from cbp.faults.wire import endpoints, profile_signer
from gateway import GatewayError, from_profile
from network.paths import sandbox_paths
from network.sandbox import Sandbox
from network.topology import DEFAULT_TOPOLOGY, load_topology

pytestmark = pytest.mark.timeout(300)
OFFSET = int(os.environ.get("CBP_TEST_PORT_OFFSET", "1000")) + 65


@pytest.fixture(scope="module")
def mtls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("cbp-mtls")
    spec = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    spec["tls"] = {"client_auth_required": True}
    for name, cc in spec["chaincodes"].items():
        cc["autostart"] = name == "smoke"  # nothing else is needed here
    path = home / "topology.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    sb = Sandbox(load_topology(path, port_offset=OFFSET), sandbox_paths(home / "sandbox"))
    sb.up("embedded")
    try:
        yield sb
    finally:
        sb.down()


def _orderer_deliver(profile: Path, cert: bytes | None, key: bytes | None) -> str:
    ep = endpoints(profile)["orderer"]
    signer = profile_signer(profile)

    async def call() -> str:
        creds = grpc.ssl_channel_credentials(ep.tls_ca, private_key=key, certificate_chain=cert)
        options = [("grpc.ssl_target_name_override", ep.hostname)]
        async with grpc.aio.secure_channel(ep.address, creds, options=options) as ch:
            env = messages.deliver_envelope(signer, "bsp1-channel")
            try:
                async for _ in ab_pb2_grpc.AtomicBroadcastStub(ch).Deliver(iter([env]), timeout=10):
                    return "served"
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
        return "ended"

    return asyncio.run(call())


def test_mtls_serves_a_certified_client_and_refuses_others(mtls_sandbox: Sandbox) -> None:
    profile = mtls_sandbox.paths.connection_profile
    with from_profile("bsp1", "User1", profile) as gw:  # the profile says: present your cert
        assert gw.get_network("bsp1-channel").get_chain_info().height >= 1
    with pytest.raises(GatewayError) as refused:
        with from_profile("bsp1", "User1", profile, mutual_tls=False) as gw:
            gw.get_network("bsp1-channel").get_chain_info()
    assert refused.value.code == "UNAVAILABLE"

    user = (
        mtls_sandbox.paths.crypto
        / "peerOrganizations/bsp1.cbp.local/users/User1@bsp1.cbp.local/tls"
    )
    cert, key = (user / "client.crt").read_bytes(), (user / "client.key").read_bytes()
    assert _orderer_deliver(profile, cert, key) == "served"
    assert _orderer_deliver(profile, None, None) == "UNAVAILABLE"
    stranger = messages.new_key()
    from cryptography.hazmat.primitives import serialization

    stranger_pem = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    self_signed = messages.certificate("User1@bsp1.cbp.local", "bsp1.cbp.local", stranger)
    assert _orderer_deliver(profile, self_signed, stranger_pem) == "UNAVAILABLE"
