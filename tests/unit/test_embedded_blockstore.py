from __future__ import annotations

import os
from pathlib import Path

import pytest

from network.embedded import protoutil
from network.embedded.blockstore import BlockStore, BlockStoreError, decode_private, encode_private


def _block(n: int, prev: bytes, payload: bytes = b"tx") -> object:
    block = protoutil.new_block(n, prev)
    block.data.data.append(payload + b"%d" % n)
    block.header.data_hash = protoutil.block_data_hash(block.data)
    return block


def _fill(store: BlockStore, count: int) -> list[object]:
    prev, out = b"", []
    for n in range(count):
        b = _block(n, prev)
        store.append(b, {0: b"pvt%d" % n} if n % 2 else None)  # type: ignore[arg-type]
        prev = protoutil.block_header_hash(b.header)  # type: ignore[attr-defined]
        out.append(b)
    return out


def test_blockstore_append_and_reopen(tmp_path: Path) -> None:
    store = BlockStore(tmp_path)
    blocks = _fill(store, 5)
    assert store.height == 5
    store.close()
    again = BlockStore(tmp_path)
    assert again.height == 5
    for n, b in enumerate(blocks):
        assert again.get(n) == b
        assert again.get_private(n) == ({0: b"pvt%d" % n} if n % 2 else {})


def test_blockstore_refuses_out_of_sequence(tmp_path: Path) -> None:
    store = BlockStore(tmp_path)
    _fill(store, 2)
    with pytest.raises(
        BlockStoreError, match="block 5 is out of sequence; the store expects block 2"
    ):
        store.append(_block(5, b""))  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", [1, 7, 16, 20])
def test_blockstore_cuts_a_torn_tail(tmp_path: Path, cut: int) -> None:
    store = BlockStore(tmp_path)
    _fill(store, 3)
    store.close()
    path = tmp_path / "blocks.bin"
    os.truncate(path, path.stat().st_size - cut)
    again = BlockStore(tmp_path)
    assert again.height == 2
    assert again.get(1).header.number == 1
    again.append(_block(2, protoutil.block_header_hash(again.get(1).header)))  # type: ignore[arg-type]
    again.close()
    assert BlockStore(tmp_path).height == 3


def test_blockstore_cuts_a_corrupt_last_record(tmp_path: Path) -> None:
    store = BlockStore(tmp_path)
    _fill(store, 3)
    store.close()
    path = tmp_path / "blocks.bin"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert BlockStore(tmp_path).height == 2


def test_blockstore_missing_block_is_a_key_error(tmp_path: Path) -> None:
    store = BlockStore(tmp_path)
    with pytest.raises(KeyError, match="block 0 is not in the store"):
        store.get(0)


def test_blockstore_private_encoding_round_trips() -> None:
    kept = {3: b"a", 0: b"", 9: b"x" * 1000}
    assert decode_private(encode_private(kept)) == kept
