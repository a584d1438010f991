"""`cbp audit verify`, run as an auditor runs it: the real CLI in a subprocess.

On a live channel the chain verifies. On a copy of a peer's block file with one block altered
it fails and names that block, whether the tamperer only changed a value or also recomputed
the block's data hash to hide it (then the orderer's signature over the header gives it away).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import Gateway, from_profile
from network.embedded.blockstore import read_block_file
from network.sandbox import Sandbox

CHANNEL = "bsp1-channel"
REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]
embedded_block_file = pytest.mark.skipif(
    os.environ.get("CBP_TEST_ENGINE", "embedded") != "embedded",
    reason="--block-file reads the embedded engine's block file format "
    "(network.embedded.blockstore.read_block_file), not a Fabric peer's blockfile_NNNNNN",
)


def cbp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbp", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def tso(sandbox: Sandbox, profile_path: str) -> Iterator[Gateway]:
    with from_profile("tso", "User1", profile_path) as gw:
        yield gw


@pytest.fixture(scope="module")
def written(tso: Gateway) -> tuple[bytes, int]:
    """A value committed through the TSO's peer, and the block that holds it."""
    value = f"AUDIT-ORIGINAL-{uuid.uuid4().hex}".encode()
    contract = tso.get_network(CHANNEL).get_contract("smoke")
    commit = contract.new_proposal("Put", f"audit-{uuid.uuid4().hex[:8]}", value).endorse().submit()
    status = commit.get_status()
    assert status.successful
    # one more block after it, so a broken link to the altered block can show too
    contract.submit_transaction("Put", f"audit-next-{uuid.uuid4().hex[:8]}", "after")
    return value, status.block_number


def _tso_block_file(sandbox: Sandbox) -> Path:
    path = sandbox.paths.ledger / "peer0.tso.cbp.local" / CHANNEL / "blocks.bin"
    assert path.is_file(), f"the engine's block file moved: {path} (see blockstore.py)"
    return path


def _json_report(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    report = json.loads(out.stdout)
    assert isinstance(report, dict)
    return report


def test_audit_verify_live_channel_passes(
    sandbox: Sandbox, profile_path: str, tso: Gateway, written: tuple[bytes, int]
) -> None:
    height = tso.get_network(CHANNEL).get_chain_info().height
    out = cbp("audit", "verify", CHANNEL, "--profile", profile_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"OK: channel {CHANNEL}: blocks 0..")
    report = _json_report(cbp("audit", "verify", CHANNEL, "--profile", profile_path, "--json"))
    assert report["ok"] is True and report["bad_blocks"] == []
    assert report["first_block"] == 0 and report["blocks_checked"] >= height
    # every block but the genesis block (configtxgen's, unsigned) carries an orderer signature
    assert report["signatures_checked"] >= report["blocks_checked"] - 1


@embedded_block_file
def test_audit_verify_unaltered_block_file_copy_passes(
    sandbox: Sandbox, written: tuple[bytes, int], tmp_path: Path
) -> None:
    copy = tmp_path / "blocks.bin"
    shutil.copyfile(_tso_block_file(sandbox), copy)
    out = cbp("audit", "verify", CHANNEL, "--block-file", str(copy), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = _json_report(out)
    assert report["ok"] is True
    assert report["last_block"] >= written[1] + 1


def _alter(copy: Path, old: bytes, new: bytes) -> None:
    """Replace bytes in place (same length, so the file's record layout is unchanged)."""
    assert len(old) == len(new)
    data = copy.read_bytes()
    assert old in data
    copy.write_bytes(data.replace(old, new))


def _data_hash(block: Any) -> bytes:
    return hashlib.sha256(b"".join(block.data.data)).digest()


@embedded_block_file
@pytest.mark.parametrize("recompute_data_hash", [False, True], ids=["value", "value-and-hash"])
def test_audit_verify_altered_block_fails_naming_it(
    sandbox: Sandbox, written: tuple[bytes, int], tmp_path: Path, recompute_data_hash: bool
) -> None:
    value, number = written
    copy = tmp_path / "blocks.bin"
    shutil.copyfile(_tso_block_file(sandbox), copy)
    original = next(b for b in read_block_file(copy) if b.header.number == number)
    # the value is in that block only (the proposal's arguments and the write set)
    assert sum(value in d for d in original.data.data) == 1
    _alter(copy, value, value.replace(b"ORIGINAL", b"TAMPERED"))
    if recompute_data_hash:
        altered = next(b for b in read_block_file(copy) if b.header.number == number)
        assert original.header.data_hash == _data_hash(original)
        _alter(copy, original.header.data_hash, _data_hash(altered))

    human = cbp("audit", "verify", CHANNEL, "--block-file", str(copy))
    assert human.returncode == 2, human.stdout + human.stderr
    assert human.stdout.startswith("FAILED:")
    assert f"block {number}:" in human.stdout

    report = _json_report(cbp("audit", "verify", CHANNEL, "--block-file", str(copy), "--json"))
    assert report["ok"] is False
    assert number in report["bad_blocks"]
    # nothing before the altered block is blamed
    assert min(report["bad_blocks"]) == number
    if recompute_data_hash:
        # the header changed, so the next block's link to it breaks as well
        assert number + 1 in report["bad_blocks"]


CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # every control character but newline


def _strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def _readable(*args: str) -> tuple[str, Any]:
    """The human and the JSON output of one audit command, checked free of control characters."""
    human = cbp(*args)
    assert human.returncode == 0 and human.stderr == "", human.stderr
    assert not CONTROL.search(human.stdout), CONTROL.findall(human.stdout)
    as_json = cbp(*args, "--json")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert not [s for s in _strings(doc) if CONTROL.search(s)]
    return human.stdout, doc


def test_audit_block_and_tx_show_lifecycle_calls_decoded_without_control_characters(
    sandbox: Sandbox, profile_path: str, tso: Gateway, written: tuple[bytes, int]
) -> None:
    """Fabric's `_lifecycle` takes and writes protobuf: shown decoded (the endorsement policy
    in Fabric's own policy language), never as raw bytes on the terminal."""
    height = tso.get_network(CHANNEL).get_chain_info().height
    lifecycle: list[dict[str, Any]] = []
    for number in range(height):
        text, block = _readable("audit", "block", CHANNEL, str(number), "--profile", profile_path)
        assert text.startswith(f"block {number}\n")
        lifecycle += [
            t
            for t in block["transactions"]
            if t["chaincode"] == "_lifecycle" and t["function"] == "CommitChaincodeDefinition"
        ]
        found = [t for t in lifecycle if json.loads(t["args"][0])["name"] == "registry"]
        if found:
            break
    (registry,) = found
    definition = json.loads(registry["args"][0])
    assert definition["validation_parameter"] == (
        "AND('TSOMSP.peer', OR('BSPHostMSP.peer', 'DSOHostMSP.peer'))"
    )
    text, tx = _readable(
        "audit", "tx", CHANNEL, registry["transaction_id"], "--profile", profile_path
    )
    assert "invoked   _lifecycle CommitChaincodeDefinition({" in text
    assert "'BSPHostMSP.peer'" in text
    assert tx["args"] == registry["args"]
    value, number = written  # an ordinary transaction: its value as the text it is
    text, block = _readable("audit", "block", CHANNEL, str(number), "--profile", profile_path)
    assert value.decode() in text
