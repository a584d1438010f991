"""One peer's ledger of one channel: block store, world state, history and tx index.

Commit order follows Fabric's kvledger: validate, write the TRANSACTIONS_FILTER, append the block
(fsync), then apply state, history and indexes in one SQLite transaction whose savepoint is the
block number. After a crash the block file is the truth: blocks past the savepoint are replayed
with their recorded validation codes, and a state that is ahead of the blocks is rebuilt from
scratch.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.ledger.rwset import rwset_pb2

from . import protoutil
from .blockstore import BlockIndex, BlockStore, Location
from .channelconfig import ChannelConfig, channel_id_of_block
from .history import HistoryDB, HistoryEntry
from .lifecycle.definition import (
    NAMESPACE as LIFECYCLE_NS,
)
from .lifecycle.definition import (
    ChaincodeDefinition,
    LocalApproval,
    definitions_from_state,
    implicit_collection,
    local_approval,
)
from .lifecycle.functions import collections_of
from .rwset import TxSimulator
from .singleflight import SingleFlight
from .statedb import StateDB
from .validator import BlockValidation, Validator

log = logging.getLogger(__name__)

Code = protoutil.Code


@dataclass(frozen=True, slots=True)
class Committed:
    """What a committed block changed, as listeners (and the peer processes) are told of it."""

    number: int
    codes: bytes  # validation code of each transaction, in block order
    txids: tuple[str, ...]  # "" for an envelope without a readable header
    header: bytes  # the block's serialised header
    location: Location  # where the block sits in this peer's block file
    config: bool  # the block changed the channel config


Listener = Callable[[Committed], None]

_META_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _commit_hash_of(block: common_pb2.Block) -> bytes:
    protoutil.ensure_metadata(block)
    raw = block.metadata.metadata[common_pb2.COMMIT_HASH]
    return common_pb2.Metadata.FromString(raw).value if raw else b""


def _expired(d: ChaincodeDefinition | None, coll: str, written: int, last: int) -> bool:
    conf = d.collection(coll) if d is not None else None
    btl = conf.block_to_live if conf is not None else 0
    return btl > 0 and last >= written + btl + 1


# A block's validation, shared by the peers of a channel whose ledgers agree (see commit).
_VALIDATIONS: SingleFlight[BlockValidation] = SingleFlight()
# Ledgers open in this process per channel: how many peers may take a shared validation.
_SHARERS: dict[str, int] = {}
_SHARERS_LOCK = threading.Lock()


class LedgerError(RuntimeError):
    """A block cannot be committed or the ledger on disk is inconsistent."""


class LedgerReader:
    """The queries over one peer's ledger of one channel: blocks, state, history, tx index,
    channel config and chaincode definitions. `PeerLedger` adds commit and recovery; a
    `LedgerFollower` answers the same queries in another process than the one committing."""

    blocks: BlockStore
    state: StateDB

    def _init_reader(
        self,
        path: Path,
        channel_id: str,
        genesis_block: common_pb2.Block,
        msp_id: str | None,
        chaincode_definitions: Callable[[str], ChaincodeDefinition | None] | None,
    ) -> None:
        self.path = Path(path)
        self.channel_id = channel_id
        self.msp_id = msp_id
        if channel_id_of_block(genesis_block) != channel_id:
            raise LedgerError(
                f"genesis block is for channel {channel_id_of_block(genesis_block)}, "
                f"not {channel_id}"
            )
        self._listeners: list[Listener] = []
        self._definitions = chaincode_definitions or definitions_from_state(self.state)
        # Part of the shared-validation key: peers share a block's validation only when their
        # definitions come from the same place (their own states, or one given lookup).
        self._definitions_source: object = (
            "state" if chaincode_definitions is None else id(chaincode_definitions)
        )
        self._config = ChannelConfig.from_block(genesis_block, channel_id)
        self._approvals: dict[str, tuple[int, LocalApproval]] = {}
        self._last_header: common_pb2.BlockHeader | None = None

    def close(self) -> None:
        self.blocks.close()
        self.state.close()

    def _lookup_definition(self, name: str) -> ChaincodeDefinition | None:
        return self._definitions(name)

    def _set_config(self, config: ChannelConfig) -> None:
        self._config = config

    def _config_from_blocks(self, upto: int) -> None:
        row = self.state.reader.execute(
            "SELECT value FROM ledger_meta WHERE name = 'last_config'"
        ).fetchone()
        if row is None or upto < 0:
            return
        block = self.blocks.get(int(row[0]))
        self._set_config(ChannelConfig.from_block(block, self.channel_id))

    def _notify(self, committed: Committed) -> None:
        for listener in list(self._listeners):
            try:
                listener(committed)
            except Exception:
                log.exception("ledger listener failed on block %d", committed.number)

    # --- queries --------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.blocks.height

    @property
    def channel_config(self) -> ChannelConfig:
        return self._config

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def get_block(self, number: int) -> common_pb2.Block:
        return self.blocks.get(number)

    def get_block_bytes(self, number: int) -> bytes:
        """The stored block as serialised, for senders that need no parsed copy (Deliver)."""
        return self.blocks.get_bytes(number)

    def get_block_by_hash(self, header_hash: bytes) -> common_pb2.Block | None:
        n = BlockIndex.block_by_hash(self.state.reader, header_hash)
        return self.blocks.get(n) if n is not None else None

    def get_tx_by_id(self, txid: str) -> tuple[bytes, int, int] | None:
        """(envelope bytes, validation code, block number) of a transaction, or None."""
        loc = BlockIndex.tx(self.state.reader, txid)
        if loc is None:
            return None
        block_num, tx_num, code = loc
        return bytes(self.blocks.get(block_num).data.data[tx_num]), code, block_num

    def get_tx_status(self, txid: str) -> tuple[int, int] | None:
        """(validation code, block number) of a committed transaction, from the index alone
        (what CommitStatus needs; no block is read)."""
        loc = BlockIndex.tx(self.state.reader, txid)
        return (loc[2], loc[0]) if loc is not None else None

    def tx_exists(self, txid: str) -> bool:
        return BlockIndex.tx(self.state.reader, txid) is not None

    def info(self) -> ledger_pb2.BlockchainInfo:
        last = self._last_header
        if last is None:
            return ledger_pb2.BlockchainInfo(height=0)
        return ledger_pb2.BlockchainInfo(
            height=self.height,
            currentBlockHash=protoutil.block_header_hash(last),
            previousBlockHash=last.previous_hash,
        )

    def new_tx_simulator(self, txid: str) -> TxSimulator:
        return TxSimulator(self.state, txid, collections=self._collections_for)

    def _collections_for(self, sim: TxSimulator, ns: str) -> frozenset[str]:
        """The collections chaincode `ns` may use. With definitions from this ledger's state the
        definition is read through the simulation, so its keys join the read set as on Fabric."""
        if self._definitions_source == "state" or ns == LIFECYCLE_NS:
            return collections_of(sim, self._config, ns)
        d = self._definitions(ns)
        if d is None:
            return frozenset()
        implicit = {implicit_collection(m) for m in self._config.orgs}
        return frozenset(d.collection_names()) | implicit

    def get_state(self, ns: str, key: str) -> bytes | None:
        vv = self.state.get(ns, key)
        return vv.value if vv else None

    def get_history(self, ns: str, key: str) -> list[HistoryEntry]:
        return HistoryDB.get(self.state.reader, ns, key)

    def get_private_data(self, ns: str, coll: str, key: str) -> bytes | None:
        vv = self.state.get_private(ns, coll, key)
        return vv.value if vv else None

    def get_private_data_for_block(self, number: int) -> dict[int, rwset_pb2.TxPvtReadWriteSet]:
        """The private writes this peer kept for a block, by tx number (Deliver with pvt data);
        collections whose BlockToLive has passed are left out, as Fabric purges them."""
        last = self.height - 1
        out: dict[int, rwset_pb2.TxPvtReadWriteSet] = {}
        for n, raw in self.blocks.get_private(number).items():
            pvt = rwset_pb2.TxPvtReadWriteSet.FromString(raw)
            for nspvt in pvt.ns_pvt_rwset:
                d = self._definitions(nspvt.namespace)
                live = [
                    c
                    for c in nspvt.collection_pvt_rwset
                    if not _expired(d, c.collection_name, number, last)
                ]
                if len(live) != len(nspvt.collection_pvt_rwset):
                    del nspvt.collection_pvt_rwset[:]
                    nspvt.collection_pvt_rwset.extend(live)
            kept = [ns for ns in pvt.ns_pvt_rwset if ns.collection_pvt_rwset]
            if kept:
                del pvt.ns_pvt_rwset[:]
                pvt.ns_pvt_rwset.extend(kept)
                out[n] = pvt
        return out

    def chaincode_definition(self, name: str) -> ChaincodeDefinition | None:
        return self._definitions(name)

    def committed_definitions(self) -> list[ChaincodeDefinition]:
        """Every chaincode definition committed on this channel (none with given definitions)."""
        if self._definitions_source != "state":
            return []
        prefix = "namespaces/metadata/"
        names = [
            key[len(prefix) :] for key, _ in self.state.range(LIFECYCLE_NS, prefix, prefix + "\x7f")
        ]
        return [d for n in names if (d := self._definitions(n)) is not None]

    def local_approval(self, name: str) -> LocalApproval | None:
        """Whether this peer's org approved the committed definition of `name`, and with which
        package (Fabric's lifecycle cache); None when the ledger was given its definitions."""
        if self._definitions_source != "state" or self.msp_id is None:
            return None
        generation = self.state.generation
        hit = self._approvals.get(name)
        if hit is not None and hit[0] == generation:
            return hit[1]
        d = self._definitions(name)
        approval = (
            local_approval(self.state, self.msp_id, d)
            if d is not None
            else LocalApproval(False, None)
        )
        self._approvals[name] = (generation, approval)
        return approval


class PeerLedger(LedgerReader):
    def __init__(
        self,
        path: Path,
        channel_id: str,
        genesis_block: common_pb2.Block,
        *,
        msp_id: str | None = None,
        chaincode_definitions: Callable[[str], ChaincodeDefinition | None] | None = None,
    ) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        # No parsed block kept: the peer processes read blocks from the file, and a block of
        # 500 transactions is megabytes once parsed.
        self.blocks = BlockStore(Path(path), cache_blocks=0)
        self.state = StateDB(Path(path) / "state.sqlite")
        self.state._writer.executescript(_META_SCHEMA)
        BlockIndex(self.state._writer)
        HistoryDB(self.state._writer)
        self._init_reader(path, channel_id, genesis_block, msp_id, chaincode_definitions)
        self._commit_lock = threading.RLock()
        self.validator = Validator(self._config, self._lookup_definition, msp_id=msp_id)
        with _SHARERS_LOCK:
            _SHARERS[channel_id] = _SHARERS.get(channel_id, 0) + 1
        self._counted = True
        self._commit_hash = b""
        self._pvt_collections: set[tuple[str, str]] | None = None
        self._recover(genesis_block)

    @classmethod
    def open(
        cls,
        path: Path,
        channel_id: str,
        genesis_block: common_pb2.Block,
        **kwargs: object,
    ) -> PeerLedger:
        return cls(path, channel_id, genesis_block, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        if getattr(self, "_counted", False):
            with _SHARERS_LOCK:
                _SHARERS[self.channel_id] -= 1
            self._counted = False
        super().close()

    # --- recovery -------------------------------------------------------------------------------

    def _recover(self, genesis: common_pb2.Block) -> None:
        height = self.blocks.height
        savepoint = self.state.savepoint()
        if height == 0:
            if savepoint >= 0:
                log.warning("ledger %s: state without blocks; clearing it", self.path)
                self._clear_derived()
            self.commit(genesis)
            return
        if savepoint >= height:
            log.warning(
                "ledger %s: state savepoint %d is ahead of the block store (height %d); "
                "rebuilding state from blocks",
                self.path,
                savepoint,
                height,
            )
            self._clear_derived()
            savepoint = -1
        elif (
            savepoint >= 0
            and BlockIndex.block_by_hash(
                self.state.reader, protoutil.block_header_hash(self.blocks.get(savepoint).header)
            )
            != savepoint
        ):
            log.warning(
                "ledger %s: state was built from a different block %d than the block store "
                "holds; rebuilding state from blocks",
                self.path,
                savepoint,
            )
            self._clear_derived()
            savepoint = -1
        last = self.blocks.get(height - 1)
        self._last_header = last.header
        self._commit_hash = _commit_hash_of(last)
        # The latest config is found by replaying config transactions from the start.
        self._config_from_blocks(min(savepoint, height - 1))
        for n in range(savepoint + 1, height):
            self._replay(n)
        if savepoint + 1 < height:
            log.info("ledger %s: replayed blocks %d..%d", self.path, savepoint + 1, height - 1)

    def _clear_derived(self) -> None:
        self._pvt_collections = None
        self.state.clear()
        with self.state.transaction() as conn:
            BlockIndex.clear(conn)
            HistoryDB.clear(conn)
            conn.execute("DELETE FROM ledger_meta")

    def _set_config(self, config: ChannelConfig) -> None:
        self._config = config
        validator = getattr(self, "validator", None)  # None while the reader part is set up
        if validator is not None:
            validator.channel_config = config

    def _replay(self, n: int) -> None:
        block = self.blocks.get(n)
        codes = list(protoutil.tx_filter(block))
        if len(codes) != len(block.data.data):
            raise LedgerError(f"block {n} in the store has no complete TRANSACTIONS_FILTER")
        validation = self.validator.replay_block(
            block, codes, self.blocks.get_private(n), self.state
        )
        self._apply(block, validation)

    # --- commit ---------------------------------------------------------------------------------

    def commit(
        self,
        block: common_pb2.Block,
        private_data: dict[str, rwset_pb2.TxPvtReadWriteSet] | None = None,
    ) -> list[int]:
        """Validate and commit the next block; returns its validation codes.

        A block already committed returns its recorded codes (idempotent by number).
        """
        with self._commit_lock:
            n = block.header.number
            height = self.blocks.height
            if n < height:
                return list(protoutil.tx_filter(self.blocks.get(n)))
            if n > height:
                raise LedgerError(
                    f"channel {self.channel_id}: block {n} cannot follow height {height}"
                )
            if protoutil.block_data_hash(block.data) != block.header.data_hash:
                raise LedgerError(f"block {n}: header data hash does not match the block data")
            if self._last_header is not None:
                expected = protoutil.block_header_hash(self._last_header)
                if block.header.previous_hash != expected:
                    raise LedgerError(
                        f"block {n}: previous hash does not match the hash of block {n - 1}"
                    )
            own = common_pb2.Block()
            own.CopyFrom(block)
            protoutil.ensure_metadata(own)
            if n == 0:
                # Fabric creates the ledger from the genesis block without validating it.
                validation = self.validator.replay_block(
                    own, [Code.VALID] * len(own.data.data), {}, self.state
                )
            else:

                def validate() -> BlockValidation:
                    return self.validator.validate_block(
                        own,
                        self.state,
                        self.tx_exists,
                        txids_existing=lambda ids: BlockIndex.existing(self.state.reader, ids),
                    )

                # Peers whose commit hashes agree have applied the same updates to the same
                # genesis, so they give this block the same codes and updates: one of the
                # channel's peers validates it, the others apply its result. Private data
                # does not change the outcome; what each peer keeps of it depends on its org.
                key = (
                    self.channel_id,
                    n,
                    bytes(own.header.data_hash),
                    self._commit_hash,
                    self._definitions_source,
                )
                validation = _VALIDATIONS.run(key, validate, _SHARERS.get(self.channel_id, 0))
                if private_data:
                    validation = self.validator.with_private(validation, n, private_data)
            own.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes(validation.codes)
            self._add_commit_hash(own, validation)
            self.blocks.append(own, validation.private_kept or None)
            self._apply(own, validation)
        codes = list(validation.codes)  # the validation may be shared with other peers
        if self._listeners:
            self._notify(
                Committed(
                    number=n,
                    codes=bytes(codes),
                    txids=tuple(p.txid if p is not None else "" for p in validation.txs),
                    header=own.header.SerializeToString(),
                    location=self.blocks.location(n),
                    config=validation.new_config is not None,
                )
            )
        return codes

    def _add_commit_hash(self, block: common_pb2.Block, validation: BlockValidation) -> None:
        """COMMIT_HASH metadata as Fabric's kvledger writes it: from block 1 on, SHA-256 of the
        validation flags, the block's public and hashed updates in Fabric's encoding and the
        previous commit hash; a peer that applied exactly the same updates since genesis,
        real Fabric or this engine, carries the same hash."""
        if block.header.number == 0 or (block.header.number > 1 and not self._commit_hash):
            return  # Fabric: none on the genesis block, nor after a ledger that had none
        flags = bytes(validation.codes)
        h = hashlib.sha256()
        h.update(protoutil.varint(len(flags)))
        h.update(flags)
        h.update(validation.batch.fabric_update_bytes())
        h.update(self._commit_hash)
        self._commit_hash = h.digest()
        block.metadata.metadata[common_pb2.COMMIT_HASH] = common_pb2.Metadata(
            value=self._commit_hash
        ).SerializeToString()

    def _apply(self, block: common_pb2.Block, validation: BlockValidation) -> None:
        n = block.header.number
        txs = [
            (p.txid if p is not None else "", i, validation.codes[i])
            for i, p in enumerate(validation.txs)
        ]
        if self._pvt_collections is None:
            self._pvt_collections = self.state.collections()
        self._pvt_collections.update((ns, coll) for ns, coll, _ in validation.batch.hashed)
        with self.state.transaction() as conn:
            StateDB.apply(conn, validation.batch, n)
            self._purge_expired(conn, n)
            HistoryDB.add(conn, validation.history)
            BlockIndex.add(conn, n, protoutil.block_header_hash(block.header), txs)
            if validation.new_config is not None or n == 0:
                conn.execute("INSERT OR REPLACE INTO ledger_meta VALUES ('last_config', ?)", (n,))
        if validation.new_config is not None and n > 0:
            self._set_config(ChannelConfig.from_config(validation.new_config, self.channel_id))
        self._last_header = block.header

    def _purge_expired(self, conn: sqlite3.Connection, n: int) -> None:
        """Fabric's BlockToLive: private data written in block b is purged, with its hashes,
        when block b + BlockToLive + 1 commits."""
        for ns, coll in sorted(self._pvt_collections or ()):
            definition = self._definitions(ns)
            conf = definition.collection(coll) if definition is not None else None
            btl = conf.block_to_live if conf is not None else 0
            if btl > 0 and n - btl > 0:
                purged = StateDB.purge_expired(conn, ns, coll, n - btl)
                if purged:
                    log.debug("block %d: purged %d expired entries of %s/%s", n, purged, ns, coll)
