"""The real CCaaS gRPC server, dialled over TLS on 127.0.0.1 by a small scripted peer.

Loopback only, ephemeral ports; every server and process started here is stopped here.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fabric_protos.peer import chaincode_shim_pb2_grpc

from chaincode.runtime import ContractRouter, ServerSettings, ServerThread, SettingsError
from chaincode.runtime import messages as m
from chaincode.runtime.testing import FakePeer, Simulation, TlsFiles, make_tls_files
from chaincode.smoke import SmokeContract

REPO = Path(__file__).resolve().parents[2]


class GrpcPeer:
    """The peer's end of one Connect stream: send and receive ChaincodeMessages."""

    def __init__(self, port: int, tls: TlsFiles | None, *, client_cert: bool = True) -> None:
        options = [
            ("grpc.max_send_message_length", 256 * 1024 * 1024),
            ("grpc.max_receive_message_length", 256 * 1024 * 1024),
        ]
        target = f"127.0.0.1:{port}"
        if tls is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            creds = grpc.ssl_channel_credentials(
                root_certificates=tls.ca_cert.read_bytes(),
                private_key=tls.client_key.read_bytes() if client_cert else None,
                certificate_chain=tls.client_cert.read_bytes() if client_cert else None,
            )
            self.channel = grpc.secure_channel(target, creds, options=options)
        self._out: queue.Queue[m.ChaincodeMessage | None] = queue.Queue()
        stub = chaincode_shim_pb2_grpc.ChaincodeStub(self.channel)
        self._in: Iterator[m.ChaincodeMessage] = stub.Connect(iter(self._out.get, None))
        self.txs = 0

    def send(self, msg: m.ChaincodeMessage) -> None:
        self._out.put(msg)

    def receive(self) -> m.ChaincodeMessage:
        return next(self._in)

    def handshake(self) -> str:
        register = self.receive()
        assert register.type == m.REGISTER
        self.send(m.ChaincodeMessage(type=m.REGISTERED))
        self.send(m.ChaincodeMessage(type=m.READY))
        return m.ChaincodeID.FromString(register.payload).name

    def run(self, fake: FakePeer, *args: str | bytes) -> m.ChaincodeMessage:
        """One transaction; stub requests answered from ``fake``'s world state."""
        self.txs += 1
        tx = fake.transaction_message(*args, txid=f"tx{self.txs}-{id(self)}")
        self.send(tx)
        sim = Simulation()
        while True:
            msg = self.receive()
            assert msg.txid == tx.txid
            if msg.type in (m.COMPLETED, m.ERROR):
                return msg
            self.send(fake.answer(msg, sim))

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture()
def fake() -> Iterator[FakePeer]:
    peer = FakePeer(ContractRouter([SmokeContract]))
    yield peer
    peer.close()


def mtls_settings(tls: TlsFiles) -> ServerSettings:
    return ServerSettings(
        address="127.0.0.1:0",
        chaincode_id="smoke:0123abcd",
        tls_cert=tls.server_cert,
        tls_key=tls.server_key,
        client_ca_cert=tls.ca_cert,
    )


def test_chaincode_server_tls_handshake_and_transaction(tls: TlsFiles, fake: FakePeer) -> None:
    with ServerThread(ContractRouter([SmokeContract]), mtls_settings(tls)) as server:
        peer = GrpcPeer(server.port, tls)
        try:
            assert peer.handshake() == "smoke:0123abcd"
            fake.state[("", "color")] = b"green"
            done = peer.run(fake, "Get", "color")
            assert done.type == m.COMPLETED
            assert m.Response.FromString(done.payload).payload == b"green"
            put = peer.run(fake, "Put", "k", "v")
            assert m.Response.FromString(put.payload).status == 200
            failed = peer.run(fake, "Fail", "on purpose")
            assert m.Response.FromString(failed.payload).message == "on purpose"
        finally:
            peer.close()


def test_chaincode_server_echoes_50_megabytes(tls: TlsFiles, fake: FakePeer) -> None:
    big = os.urandom(1024) * (50 * 1024)
    with ServerThread(ContractRouter([SmokeContract]), mtls_settings(tls)) as server:
        peer = GrpcPeer(server.port, tls)
        try:
            peer.handshake()
            done = peer.run(fake, "Echo", big)
            assert m.Response.FromString(done.payload).payload == big
        finally:
            peer.close()


def test_chaincode_server_serves_several_peers_at_once(tls: TlsFiles, fake: FakePeer) -> None:
    with ServerThread(ContractRouter([SmokeContract]), mtls_settings(tls)) as server:
        peers = [GrpcPeer(server.port, tls) for _ in range(3)]
        try:
            for p in peers:
                p.handshake()
            # all three streams hold a transaction in flight at the same time
            for i, p in enumerate(peers):
                p.send(fake.transaction_message("Get", f"k{i}", txid=f"multi{i}"))
            requests = [p.receive() for p in peers]
            assert [r.type for r in requests] == [m.GET_STATE] * 3
            assert server.server.connected_peers() == 3
            for i, (p, r) in enumerate(zip(peers, requests, strict=True)):
                p.send(
                    m.ChaincodeMessage(
                        type=m.RESPONSE,
                        payload=f"v{i}".encode(),
                        txid=r.txid,
                        channel_id=r.channel_id,
                    )
                )
            answers = [m.Response.FromString(p.receive().payload).payload for p in peers]
            assert answers == [b"v0", b"v1", b"v2"]
        finally:
            for p in peers:
                p.close()


def test_chaincode_server_refuses_peer_without_client_certificate(tls: TlsFiles) -> None:
    with ServerThread(ContractRouter([SmokeContract]), mtls_settings(tls)) as server:
        peer = GrpcPeer(server.port, tls, client_cert=False)
        try:
            with pytest.raises(grpc.RpcError) as refused:
                peer.receive()
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            peer.close()


def test_chaincode_server_plaintext_when_no_tls_configured(fake: FakePeer) -> None:
    settings = ServerSettings(address="127.0.0.1:0", chaincode_id="smoke:plain")
    with ServerThread(ContractRouter([SmokeContract]), settings) as server:
        peer = GrpcPeer(server.port, None)
        try:
            peer.handshake()
            peer.send(m.ChaincodeMessage(type=m.KEEPALIVE))
            assert peer.receive().type == m.KEEPALIVE
            done = peer.run(fake, "Put", "a", "b")
            assert m.Response.FromString(done.payload).status == 200
        finally:
            peer.close()


def test_chaincode_server_refuses_a_port_already_in_use() -> None:
    router = ContractRouter([SmokeContract])
    with ServerThread(router, ServerSettings("127.0.0.1:0", "smoke:a")) as first:
        taken = ServerSettings(f"127.0.0.1:{first.port}", "smoke:b")
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            ServerThread(router, taken).start()


def test_chaincode_server_settings_name_missing_and_wrong_values(tls: TlsFiles) -> None:
    with pytest.raises(SettingsError, match="CHAINCODE_SERVER_ADDRESS"):
        ServerSettings.from_sources(env={"CORE_CHAINCODE_ID_NAME": "x:1"})
    with pytest.raises(SettingsError, match="CORE_CHAINCODE_ID_NAME"):
        ServerSettings.from_sources(env={"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999"})
    with pytest.raises(SettingsError, match="both a certificate and a key"):
        ServerSettings.from_sources(
            env={}, address="127.0.0.1:1", chaincode_id="x:1", tls_cert=str(tls.server_cert)
        )
    with pytest.raises(SettingsError, match="is not a readable file"):
        ServerSettings.from_sources(
            env={},
            address="127.0.0.1:1",
            chaincode_id="x:1",
            tls_cert="/nonexistent.crt",
            tls_key=str(tls.server_key),
        )
    settings = ServerSettings.from_sources(
        env={
            "CHAINCODE_SERVER_ADDRESS": "0.0.0.0:9999",
            "CORE_CHAINCODE_ID_NAME": "smoke:1",
            "CHAINCODE_TLS_CERT": str(tls.server_cert),
            "CHAINCODE_TLS_KEY": str(tls.server_key),
        },
        address="127.0.0.1:7777",
    )
    assert (settings.address, settings.chaincode_id, settings.tls) == (
        "127.0.0.1:7777",
        "smoke:1",
        True,
    )


def test_chaincode_server_cli_serves_and_stops_cleanly_on_sigterm(tls: TlsFiles) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0",
        "CORE_CHAINCODE_ID_NAME": "smoke:cli",
        "CHAINCODE_TLS_CERT": str(tls.server_cert),
        "CHAINCODE_TLS_KEY": str(tls.server_key),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "chaincode.runtime", "serve", "chaincode.smoke:SmokeContract"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if "serving on" in line or not line:
                break
        assert "chaincode smoke:cli serving on 127.0.0.1:0" in line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_chaincode_server_cli_refuses_bad_contract_spec() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chaincode.runtime", "serve", "chaincode.smoke"],
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0",
            "CORE_CHAINCODE_ID_NAME": "smoke:cli",
        },
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2
    assert "must be written module:Class" in result.stderr
