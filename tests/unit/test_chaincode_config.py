"""A chaincode learns the network's organisations from the file the sandbox writes from the
topology, read once when the server starts; a contract that needs what is missing fails at
start-up, naming the file and the setting."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from registry_fakes import BSP1_EIC, TSO_EIC, participant, sandbox_config

from chaincode.registry import RegistryContract
from chaincode.runtime import (
    ChaincodeConfig,
    ConfigError,
    ContractRouter,
    cli,
    load_chaincode_config,
)
from chaincode.runtime.testing import FakePeer, make_creator
from network.chaincode_servers import chaincode_server_argv, write_chaincode_config
from network.paths import SandboxPaths
from network.topology import load_topology


def test_chaincode_config_written_from_the_topology_reads_back(tmp_path: Path) -> None:
    topology = load_topology(port_offset=0)
    path = write_chaincode_config(
        topology, "trading", SandboxPaths(tmp_path).chaincode_config("trading")
    )
    assert path == tmp_path / "chaincode" / "trading" / "config.json"
    config = load_chaincode_config(path)
    assert config.chaincode == "trading"
    assert set(config.channels) == {"p2p-trading"}
    assert config.bna().msp_id == topology.bna.msp_id == "TSOMSP"
    assert config.one_with_role("INFRA").msp_id == "InfraOpMSP"
    assert config.one_with_role("EVUSER").key == "evusers"
    assert [o.msp_id for o in config.with_role("BSP")] == ["BSP1MSP", "BSP2MSP"]
    assert config.by_msp_id("ARETIMSP") == config.org("areti")
    assert config.by_msp_id("OrdererMSP") is None  # the ordering org serves no chaincode


def test_chaincode_config_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="no config \\(--config or CHAINCODE_CONFIG\\)"):
        ChaincodeConfig().bna()
    config = sandbox_config("registry")
    with pytest.raises(ConfigError, match="exactly one organization with role HOST, found "):
        config.one_with_role("HOST")
    with pytest.raises(ConfigError, match="no organization 'nobody' \\(known: areti, "):
        config.org("nobody")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not readable JSON"),
        (
            '{"organizations": {"tso": {"name": "Terna"}}}',
            "organizations.tso.mspId: Field required",
        ),
        ('{"organisations": {}}', "organisations: Extra inputs are not permitted"),
    ],
)
def test_a_bad_chaincode_config_is_refused_by_name(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as refused:
        load_chaincode_config(path)
    assert str(path) in str(refused.value)


def test_the_registry_takes_its_bna_from_the_config() -> None:
    """Another network's BNA: the registry bootstraps with that MSP, and refuses TSOMSP."""
    doc = json.loads(sandbox_config("registry").model_dump_json(by_alias=True))
    doc["organizations"]["tso"]["bna"] = False
    doc["organizations"]["bsp1"]["bna"] = True
    config = ChaincodeConfig.model_validate(doc)
    tso = make_creator("TSOMSP", "User1@tso.cbp.local", {"role": "TSO", "eic": TSO_EIC})
    bsp1 = make_creator("BSP1MSP", "Admin@bsp1.cbp.local", {"role": "TSO", "eic": BSP1_EIC})
    with FakePeer(ContractRouter([RegistryContract], config=config)) as peer:
        refused = peer.invoke(
            "AdmitParticipant",
            json.dumps(participant("TSOMSP", TSO_EIC, "TSO", "Terna")),
            creator=tso,
        )
        assert refused.status == 403
        assert "only BSP1MSP with role TSO" in refused.error
        admitted = peer.invoke(
            "AdmitParticipant",
            json.dumps(participant("BSP1MSP", BSP1_EIC, "TSO", "BNA")),
            creator=bsp1,
        )
        assert admitted.status == 200, admitted.error


def test_a_registry_server_without_a_bna_refuses_to_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    argv = ["serve", "chaincode.registry:RegistryContract", "--address", "127.0.0.1:1"]
    argv += ["--chaincode-id", "registry:1"]
    with caplog.at_level(logging.ERROR):
        assert cli.main(argv) == 2
    assert "the chaincode has no config (--config or CHAINCODE_CONFIG)" in caplog.text
    empty = tmp_path / "config.json"
    empty.write_text('{"chaincode": "registry", "organizations": {}}')
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert cli.main([*argv, "--config", str(empty)]) == 2
    assert (
        f"chaincode config {empty}: expected exactly one organization with bna: true" in caplog.text
    )


def test_every_engine_starts_a_chaincode_server_with_its_config(tmp_path: Path) -> None:
    from network.compose import compose_spec
    from network.embedded.engine import EmbeddedEngine
    from network.identities import CryptoLayout
    from network.sandbox import Sandbox

    topology = load_topology(port_offset=0)
    paths = SandboxPaths(tmp_path)
    Sandbox(topology, paths).prepare("embedded")  # the package id is read from connection.json
    argv = EmbeddedEngine(topology, paths).chaincode_argv("registry")
    assert argv[argv.index("--config") + 1] == str(paths.chaincode_config("registry"))
    fabric = chaincode_server_argv(
        topology, CryptoLayout(topology, paths.crypto), "registry", "registry:abc",
        paths.chaincode_config("registry"),
    )  # fmt: skip
    assert fabric[fabric.index("--config") + 1] == str(paths.chaincode_config("registry"))
    service = compose_spec(topology)["services"]["chaincode-registry"]
    mounted = service["command"][service["command"].index("--config") + 1]
    assert any(
        v.endswith(f"/chaincode/registry/config.json:{mounted}:ro") for v in service["volumes"]
    )
