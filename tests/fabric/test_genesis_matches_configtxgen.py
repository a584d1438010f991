"""The project's genesis blocks are what Fabric's own `configtxgen -outputBlock` writes.

For every channel, configtxgen (real Fabric v3.1) builds block 0 from the `configtx.yaml` the
project writes, and both blocks, decoded by `configtxgen -inspectBlock`, are equal field by
field but for what is random or time-bound (nonce, transaction id, timestamp, data hash).
Skipped with the reason where configtxgen is not in $FABRIC_BIN or PATH.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from network.configtx import write_configtx_yaml, write_genesis_blocks
from network.identities import generate_crypto
from network.topology import load_topology


def _configtxgen() -> str:
    for d in [os.environ.get("FABRIC_BIN", ""), *os.environ.get("PATH", "").split(os.pathsep)]:
        if d and (Path(d) / "configtxgen").is_file():
            return str(Path(d) / "configtxgen")
    pytest.skip("configtxgen absent: set FABRIC_BIN to the folder of Fabric v3.1's binaries")


def _inspect(tool: str, block: Path) -> dict[str, Any]:
    out = subprocess.run(
        [tool, "-inspectBlock", str(block)], capture_output=True, text=True, check=True, timeout=60
    )
    doc: dict[str, Any] = json.loads(out.stdout)
    header = doc["data"]["data"][0]["payload"]["header"]
    for field in ("timestamp", "tx_id"):
        header["channel_header"].pop(field)
    header["signature_header"].pop("nonce")
    doc["header"].pop("data_hash")
    return doc


def test_genesis_blocks_equal_configtxgen_output(tmp_path: Path) -> None:
    tool = _configtxgen()
    topology = load_topology(port_offset=0)
    generate_crypto(topology, tmp_path / "crypto")
    ours = write_genesis_blocks(topology, tmp_path / "crypto", tmp_path / "blocks")
    write_configtx_yaml(topology, tmp_path / "crypto", tmp_path / "cfg" / "configtx.yaml")
    for channel, block in ours.items():
        reference = tmp_path / f"ref-{channel}.block"
        run = subprocess.run(
            [tool, "-profile", channel, "-channelID", channel, "-outputBlock", str(reference)],
            env={"FABRIC_CFG_PATH": str(tmp_path / "cfg"), "PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert _inspect(tool, block) == _inspect(tool, reference), channel
