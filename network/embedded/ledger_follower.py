"""A peer's ledger as its peer process sees it: read-only, following its ledger process.

The ledger process (the engine's core) validates and commits every peer's blocks; each peer
process answers endorsements, Deliver, qscc and CommitStatus from the same files, opened
read-only: the block file through the locations the core reports, the state, history and tx
index through SQLite (WAL, so reads never wait for a commit). `advance` is called for each
block the core reports committed, in order; a block reported twice (around a reconnection)
is ignored.
"""

from __future__ import annotations

from pathlib import Path

from fabric_protos.common import common_pb2

from . import protoutil
from .blockstore import BlockStore
from .ledger import Committed, LedgerReader
from .statedb import StateDB


class LedgerFollower(LedgerReader):
    def __init__(
        self,
        path: Path,
        channel_id: str,
        genesis_block: common_pb2.Block,
        *,
        height: int,
        msp_id: str | None = None,
    ) -> None:
        """`height`: the blocks the ledger process reported committed when this opened."""
        path = Path(path)
        self.blocks = BlockStore.follow(path, height)
        self.state = StateDB(path / "state.sqlite", readonly=True)
        self._init_reader(path, channel_id, genesis_block, msp_id, None)
        if height > 0:
            self._last_header = self.blocks.get(height - 1).header
            self._config_from_blocks(height - 1)

    def advance(self, committed: Committed) -> bool:
        """The ledger process committed `committed.number`; False when already known."""
        if committed.number < self.height:
            return False
        if committed.number > self.height:  # a notice lost around a reconnection
            self.catch_up(committed.number)
        self.blocks.extend(committed.number, committed.location)
        self._seen(committed)
        return True

    def catch_up(self, height: int) -> int:
        """The ledger process reports `height` after this process was not told of some blocks
        (it restarted, and committed what its orderer had written): read them from the block
        file, in order, as if told. Returns how many there were."""
        start = self.height
        if height <= start:
            return 0
        self.blocks.scan_to(height)
        for n in range(start, height):
            block = self.blocks.get(n)
            self._seen(
                Committed(
                    number=n,
                    codes=bytes(protoutil.tx_filter(block)),
                    txids=tuple(protoutil.txid_of(raw) for raw in block.data.data),
                    header=block.header.SerializeToString(),
                    location=self.blocks.location(n),
                    config=False,
                )
            )
        self._config_from_blocks(height - 1)
        return height - start

    def _seen(self, committed: Committed) -> None:
        self._last_header = common_pb2.BlockHeader.FromString(committed.header)
        self.state.changed()
        if committed.config:
            self._config_from_blocks(committed.number)
        self._notify(committed)


__all__ = ["LedgerFollower"]
