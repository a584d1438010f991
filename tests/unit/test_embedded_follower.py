"""A peer process's view of its ledger: read-only, told of each commit by the core, caught up
from the block file when it was not told."""

from __future__ import annotations

from pathlib import Path

import pytest
from embedded_fixtures import CC, Chain, endorse, smoke_definition
from fabric_protos.peer import transaction_pb2

from network.embedded.blockstore import BlockStore, BlockStoreError
from network.embedded.ledger import Committed, PeerLedger
from network.embedded.ledger_follower import LedgerFollower
from network.embedded.rwset import TxSimulator

Code = transaction_pb2.TxValidationCode
DEFINITION = smoke_definition()


@pytest.fixture(scope="module")
def chain(topology, crypto) -> Chain:  # type: ignore[no-untyped-def]
    return Chain(topology, crypto)


def _open(chain: Chain, path: Path) -> PeerLedger:
    return chain.open_ledger(path, chaincode_definitions=lambda n: DEFINITION if n == CC else None)


def _commit(chain: Chain, ledger: PeerLedger, key: str, value: bytes) -> str:
    def sim(s: TxSimulator) -> None:
        s.put_state(CC, key, value)

    env = endorse(ledger, chain.user("bsp1"), [chain.peer("tso")], sim)
    ledger.commit(chain.factory(ledger).make_block([env.envelope]))
    return env.txid


def test_follower_answers_what_its_writer_committed(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    told: list[Committed] = []
    ledger.add_listener(told.append)
    first = _commit(chain, ledger, "a", b"1")
    follower = LedgerFollower(tmp_path, chain.channel, chain.genesis, height=ledger.height)
    assert follower.height == 2
    assert follower.get_state(CC, "a") == b"1"
    assert follower.get_tx_status(first) == (Code.VALID, 1)
    assert follower.info() == ledger.info()
    assert follower.get_block_bytes(1) == ledger.get_block_bytes(1)

    second = _commit(chain, ledger, "a", b"2")
    # a block the follower was not told of yet is not there, whatever the file holds
    assert follower.height == 2
    generation = follower.state.generation
    assert follower.advance(told[-1])
    assert not follower.advance(told[-1])  # told twice (around a reconnection): ignored
    assert follower.height == 3 and follower.state.generation > generation
    assert follower.get_state(CC, "a") == b"2"
    assert follower.get_tx_status(second) == (Code.VALID, 2)
    assert follower.get_block(2).header == ledger.get_block(2).header
    assert follower.info() == ledger.info()
    assert [h.tx_id for h in follower.get_history(CC, "a")] == [second, first]


def test_follower_catches_up_from_the_block_file(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    follower = LedgerFollower(tmp_path, chain.channel, chain.genesis, height=ledger.height)
    seen: list[Committed] = []
    follower.add_listener(seen.append)
    txids = [_commit(chain, ledger, f"k{i}", b"v") for i in range(3)]
    assert follower.catch_up(ledger.height) == 3
    assert [c.number for c in seen] == [1, 2, 3]
    assert [c.txids for c in seen] == [(t,) for t in txids]
    assert all(c.codes == bytes([Code.VALID]) for c in seen)
    assert follower.info() == ledger.info()
    # a notice past a gap reads the blocks in between first
    more = [_commit(chain, ledger, f"m{i}", b"v") for i in range(2)]
    last = ledger.get_block(5)
    notice = Committed(
        5,
        bytes(last.metadata.metadata[2]),
        (more[1],),
        last.header.SerializeToString(),
        ledger.blocks.location(5),
        False,
    )
    assert follower.advance(notice)
    assert [c.number for c in seen][-2:] == [4, 5]
    assert follower.get_tx_status(more[0]) == (Code.VALID, 4)


def test_follower_refuses_a_height_its_block_file_does_not_hold(
    chain: Chain, tmp_path: Path
) -> None:
    ledger = _open(chain, tmp_path)
    with pytest.raises(BlockStoreError, match="holds 1 blocks; its writer reported 4"):
        BlockStore.follow(tmp_path, 4)
    follower = LedgerFollower(tmp_path, chain.channel, chain.genesis, height=1)
    with pytest.raises(RuntimeError, match="read-only"):
        with follower.state.transaction():
            pass
    assert ledger.height == 1
