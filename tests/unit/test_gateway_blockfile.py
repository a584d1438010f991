"""Fabric's block store format (`blockfile_NNNNNN`) read offline, and `cbp audit verify` on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2

from gateway.blockfile import (
    BlockFileError,
    decode_serialized_block,
    file_record,
    looks_like_fabric_block_file,
    read_fabric_block_file,
    read_fabric_ledger,
    serialize_block,
)
from network.embedded import protoutil
from network.embedded.blockstore import BlockStore

REPO = Path(__file__).resolve().parents[2]


def _chain(n: int) -> list[common_pb2.Block]:
    blocks, prev = [], b""
    for i in range(n):
        b = protoutil.new_block(i, prev)
        b.data.data.extend([f"tx {i}.{j}".encode() for j in range(i + 1)])
        b.header.data_hash = protoutil.block_data_hash(b.data)
        b.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes(i + 1)
        prev = protoutil.block_header_hash(b.header)
        blocks.append(b)
    return blocks


def test_serialized_block_round_trips() -> None:
    block = _chain(3)[2]
    assert decode_serialized_block(serialize_block(block)) == block
    # the layout Fabric's serializeBlock writes: number, data hash, previous hash, ...
    raw = serialize_block(block)
    assert raw[0] == 2 and raw[1] == 32 and raw[2:34] == bytes(block.header.data_hash)


def test_a_ledger_folder_reads_its_files_in_number_order(tmp_path: Path) -> None:
    blocks = _chain(5)
    (tmp_path / "blockfile_000001").write_bytes(b"".join(file_record(b) for b in blocks[3:]))
    (tmp_path / "blockfile_000000").write_bytes(b"".join(file_record(b) for b in blocks[:3]))
    (tmp_path / "index").mkdir()
    assert list(read_fabric_ledger(tmp_path)) == blocks
    assert looks_like_fabric_block_file((tmp_path / "blockfile_000000").read_bytes()[:64])


def test_a_cut_short_file_names_the_record_and_byte(tmp_path: Path) -> None:
    f = tmp_path / "blockfile_000000"
    data = b"".join(file_record(b) for b in _chain(3))
    f.write_bytes(data[:-5])
    with pytest.raises(BlockFileError, match=r"record 2 .*needs \d+ bytes, \d+ left"):
        list(read_fabric_block_file(f))


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbp", "audit", "verify", "any-channel", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_audit_verify_tells_the_format_and_what_it_cannot_read(tmp_path: Path) -> None:
    blocks = _chain(3)
    fabric = tmp_path / "copy-of-a-fabric-file"
    fabric.write_bytes(b"".join(file_record(b) for b in blocks))
    ours = BlockStore(tmp_path / "engine")
    for b in blocks:
        ours.append(b)
    ours.close()
    for source in (fabric, tmp_path / "engine"):
        res = _audit("--block-file", str(source), "--json")
        report = json.loads(res.stdout)
        # unsigned test blocks: each block but the genesis misses its orderer signature
        assert (report["blocks_checked"], report["first_block"]) == (3, 0), source
        assert report["bad_blocks"] == [1, 2] and res.returncode == 2
    junk = tmp_path / "notes.txt"
    junk.write_text("not a ledger at all, just text that goes on for a while\n" * 3)
    res = _audit("--block-file", str(junk))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"cbp audit: error: --block-file {junk} is not a block file")
    assert "neither Fabric's block store (blockfile_NNNNNN)" in res.stderr
    torn = tmp_path / "blockfile_000000"
    torn.write_bytes(fabric.read_bytes()[:-7])
    res = _audit("--block-file", str(torn))
    assert res.returncode == 2 and "record 2" in res.stderr and "Traceback" not in res.stderr
