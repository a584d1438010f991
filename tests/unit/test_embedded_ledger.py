from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from embedded_fixtures import CC, Chain, endorse, smoke_definition
from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config_pb2
from fabric_protos.peer import transaction_pb2

from network.embedded import protoutil
from network.embedded.channelconfig import config_from_block
from network.embedded.ledger import Committed, LedgerError, PeerLedger
from network.embedded.rwset import TxSimulator

Code = transaction_pb2.TxValidationCode
REPO = Path(__file__).resolve().parents[2]
DEFINITION = smoke_definition()


def _open(chain: Chain, path: Path) -> PeerLedger:
    return chain.open_ledger(path, chaincode_definitions=lambda n: DEFINITION if n == CC else None)


def _write(key: str, value: bytes):  # type: ignore[no-untyped-def]
    def sim(s: TxSimulator) -> None:
        s.put_state(CC, key, value)

    return sim


def _grow(chain: Chain, ledger: PeerLedger, blocks: int, prefix: str = "k") -> None:
    factory = chain.factory(ledger)
    for i in range(blocks):
        env = endorse(
            ledger, chain.user("bsp1"), [chain.peer("tso")], _write(f"{prefix}{i}", b"%d" % i)
        )
        ledger.commit(factory.make_block([env.envelope]))


def test_ledger_starts_from_genesis_with_its_config(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    assert ledger.height == 1
    assert ledger.channel_config.channel_id == chain.channel
    genesis = ledger.get_block(0)
    assert list(protoutil.tx_filter(genesis)) == [Code.VALID]
    assert ledger.get_block_by_hash(protoutil.block_header_hash(genesis.header)) is not None
    info = ledger.info()
    assert info.height == 1 and info.currentBlockHash == protoutil.block_header_hash(genesis.header)


def test_ledger_blocks_chain_and_carry_the_tx_filter(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    _grow(chain, ledger, 3)
    for n in range(1, 4):
        block = ledger.get_block(n)
        prev = ledger.get_block(n - 1)
        assert block.header.previous_hash == protoutil.block_header_hash(prev.header)
        assert block.header.data_hash == protoutil.block_data_hash(block.data)
        assert list(protoutil.tx_filter(block)) == [Code.VALID]
    assert ledger.info().previousBlockHash == protoutil.block_header_hash(
        ledger.get_block(2).header
    )


def test_ledger_commit_is_idempotent_and_refuses_gaps_and_forks(
    chain: Chain, tmp_path: Path
) -> None:
    ledger = _open(chain, tmp_path)
    factory = chain.factory(ledger)
    env = endorse(ledger, chain.user("bsp1"), [chain.peer("tso")], _write("a", b"1"))
    block = factory.make_block([env.envelope])
    assert ledger.commit(block) == [Code.VALID]
    assert ledger.commit(block) == [Code.VALID]
    assert ledger.height == 2
    gap = factory.make_block([])
    gap.header.number = 5
    with pytest.raises(LedgerError, match="block 5 cannot follow height 2"):
        ledger.commit(gap)
    fork = protoutil.new_block(2, b"not the previous hash")
    fork.header.data_hash = protoutil.block_data_hash(fork.data)
    with pytest.raises(LedgerError, match="previous hash"):
        ledger.commit(fork)


def test_ledger_tx_lookup_and_listeners(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    seen: list[Committed] = []
    ledger.add_listener(seen.append)
    factory = chain.factory(ledger)
    env = endorse(ledger, chain.user("bsp1"), [chain.peer("tso")], _write("a", b"1"))
    ledger.commit(factory.make_block([env.envelope]))
    assert [(c.number, c.codes, c.txids) for c in seen] == [(1, bytes([Code.VALID]), (env.txid,))]
    # what a peer process needs to follow: the block's header and where it sits in the file
    stored = ledger.get_block(1)
    assert seen[0].header == stored.header.SerializeToString()
    assert ledger.blocks.get_bytes(1) == stored.SerializeToString()
    assert seen[0].location == ledger.blocks.location(1)
    found = ledger.get_tx_by_id(env.txid)
    assert found == (env.envelope, Code.VALID, 1)
    assert ledger.tx_exists(env.txid) and not ledger.tx_exists("nope")
    assert ledger.get_tx_by_id("nope") is None


def test_ledger_reopen_keeps_everything(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    _grow(chain, ledger, 3)
    ledger.close()
    again = _open(chain, tmp_path)
    assert again.height == 4
    assert again.get_state(CC, "k2") == b"2"
    _grow(chain, again, 1, prefix="after")
    assert again.get_state(CC, "after0") == b"0"


def test_ledger_replays_blocks_past_the_savepoint(
    chain: Chain, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    ledger = _open(chain, tmp_path)
    _grow(chain, ledger, 2)
    # crash between the block fsync and the state commit
    monkeypatch.setattr(
        PeerLedger,
        "_apply",
        lambda self, block, validation: (_ for _ in ()).throw(OSError("crash")),
    )
    env = endorse(ledger, chain.user("bsp1"), [chain.peer("tso")], _write("lost?", b"no"))
    with pytest.raises(OSError):
        ledger.commit(chain.factory(ledger).make_block([env.envelope]))
    monkeypatch.undo()
    ledger.close()
    again = _open(chain, tmp_path)
    assert again.height == 4
    assert again.state.savepoint() == 3
    assert again.get_state(CC, "lost?") == b"no"
    assert again.get_history(CC, "lost?")[0].tx_id == env.txid
    assert again.tx_exists(env.txid)


def test_ledger_rebuilds_state_that_is_ahead_of_blocks(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    _grow(chain, ledger, 3)
    ledger.close()
    # lose the last block (e.g. restored from an older copy of the block file)
    blocks = tmp_path / "blocks.bin"
    store_sizes = []
    from network.embedded.blockstore import BlockStore

    store = BlockStore(tmp_path)
    store_sizes = [off for off, _, _ in store._offsets]
    store.close()
    os.truncate(blocks, store_sizes[3])
    again = _open(chain, tmp_path)
    assert again.height == 3
    assert again.state.savepoint() == 2
    assert again.get_state(CC, "k1") == b"1"
    assert again.get_state(CC, "k2") is None
    assert again.get_history(CC, "k2") == []


def test_ledger_rebuilds_from_blocks_when_state_is_lost(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    _grow(chain, ledger, 3)
    ledger.close()
    for name in os.listdir(tmp_path):
        if name.startswith("state.sqlite"):
            os.remove(tmp_path / name)
    again = _open(chain, tmp_path)
    assert again.height == 4
    assert [again.get_state(CC, f"k{i}") for i in range(3)] == [b"0", b"1", b"2"]


def _config_tx(chain: Chain, ledger: PeerLedger, max_count: int) -> bytes:
    config = configtx_pb2.Config()
    config.CopyFrom(config_from_block(ledger.get_block(0)))
    config.sequence += 1
    value = config.channel_group.groups["Orderer"].values["BatchSize"]
    bs = orderer_config_pb2.BatchSize.FromString(value.value)
    bs.max_message_count = max_count
    value.value = bs.SerializeToString()
    orderer = chain.orderer()
    nonce = protoutil.new_nonce()
    chdr = protoutil.make_channel_header(common_pb2.CONFIG, chain.channel, "")
    shdr = protoutil.make_signature_header(orderer.serialize(), nonce)
    payload = common_pb2.Payload(
        header=protoutil.make_payload_header(chdr, shdr),
        data=configtx_pb2.ConfigEnvelope(config=config).SerializeToString(),
    ).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=orderer.sign(payload)).SerializeToString()


def test_ledger_config_blocks_update_the_channel_config(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    _grow(chain, ledger, 1)
    factory = chain.factory(ledger)
    block = factory.make_block([_config_tx(chain, ledger, 7)])
    assert ledger.commit(block) == [Code.VALID]
    assert protoutil.last_config_index(ledger.get_block(2)) == 2
    assert ledger.channel_config.max_message_count == 7
    assert ledger.channel_config.sequence == 1
    ledger.close()
    assert _open(chain, tmp_path).channel_config.max_message_count == 7


_CRASH_CHILD = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    from fabric_protos.common import common_pb2
    from network.identities import CryptoLayout
    from network.topology import load_topology
    from embedded_fixtures import CC, Chain, endorse, smoke_definition
    d = smoke_definition()
    topo = load_topology(port_offset=0)
    chain = Chain(topo, CryptoLayout(topo, Path({crypto!r})))
    chain._genesis = common_pb2.Block.FromString(Path({genesis!r}).read_bytes())
    ledger = chain.open_ledger(Path({ledger!r}), chaincode_definitions=lambda n: d)
    factory = chain.factory(ledger)
    for i in range(ledger.height, 100000):
        def sim(s, i=i):
            s.put_state(CC, "c%d" % i, b"%d" % i)
        envs = [endorse(ledger, chain.user("bsp1"), [chain.peer("tso")], sim).envelope]
        ledger.commit(factory.make_block(envs))
        print("ACK", i, flush=True)
    """
)


def test_ledger_survives_kill_9_with_every_acknowledged_block(chain: Chain, tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.block"
    genesis.write_bytes(chain.genesis.SerializeToString())
    script = _CRASH_CHILD.format(
        repo=str(REPO),
        tests=str(REPO / "tests" / "unit"),
        crypto=str(chain.layout.root),
        genesis=str(genesis),
        ledger=str(tmp_path / "ledger"),
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acked = -1
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked = int(line.split()[1])
            if acked >= 15:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert acked >= 15, "the child committed nothing"
    ledger = _open(chain, tmp_path / "ledger")
    assert ledger.height >= acked + 1
    for i in range(1, ledger.height):
        assert ledger.get_state(CC, f"c{i}") == b"%d" % i
        if i > 1:
            prev = ledger.get_block(i - 1)
            assert ledger.get_block(i).header.previous_hash == protoutil.block_header_hash(
                prev.header
            )


def test_ledger_commit_hash_agrees_across_peers_and_restarts(chain: Chain, tmp_path: Path) -> None:
    a, b = _open(chain, tmp_path / "a"), _open(chain, tmp_path / "b")
    factory = chain.factory(a)
    hashes = []
    for i in range(3):
        env = endorse(a, chain.user("bsp1"), [chain.peer("tso")], _write(f"h{i}", b"v"))
        block = factory.make_block([env.envelope])
        a.commit(block)
        if i == 1:
            b.close()
            b = _open(chain, tmp_path / "b")
        b.commit(block)
        ha = common_pb2.Metadata.FromString(
            a.get_block(i + 1).metadata.metadata[common_pb2.COMMIT_HASH]
        )
        hb = common_pb2.Metadata.FromString(
            b.get_block(i + 1).metadata.metadata[common_pb2.COMMIT_HASH]
        )
        assert len(ha.value) == 32 and ha.value == hb.value
        hashes.append(ha.value)
    assert len(set(hashes)) == 3


def test_ledger_commits_a_500_tx_block_within_the_block_budget(
    chain: Chain, tmp_path: Path
) -> None:
    """Validation + commit of a full block (typically ~0.4 s CPU here) cannot regress to
    quadratic cost: a generous bound that holds on a loaded machine."""
    import time

    ledger = _open(chain, tmp_path)
    envs = [
        endorse(
            ledger,
            chain.user("bsp1"),
            [chain.peer("tso"), chain.peer("bsphost")],
            _write(f"p{i}", b"v" * 200),
        ).envelope
        for i in range(500)
    ]
    block = chain.factory(ledger).make_block(envs)
    started = time.process_time()
    codes = ledger.commit(block)
    spent = time.process_time() - started
    assert codes == [Code.VALID] * 500
    assert spent < 2.5, f"500-tx block took {spent:.2f} s of CPU"


def test_ledger_tx_status_from_the_index(chain: Chain, tmp_path: Path) -> None:
    ledger = _open(chain, tmp_path)
    factory = chain.factory(ledger)
    env = endorse(ledger, chain.user("bsp1"), [chain.peer("tso")], _write("s", b"1"))
    ledger.commit(factory.make_block([env.envelope, env.envelope]))
    assert ledger.get_tx_status(env.txid) == (Code.VALID, 1)
    assert ledger.get_tx_status("unknown") is None


def test_ledger_rebuilds_state_built_from_other_blocks(chain: Chain, tmp_path: Path) -> None:
    """A block file swapped for another chain of the same height is the truth."""
    import shutil

    one, two = _open(chain, tmp_path / "one"), _open(chain, tmp_path / "two")
    _grow(chain, one, 2, prefix="one")
    _grow(chain, two, 2, prefix="two")
    one.close()
    two.close()
    shutil.copy(tmp_path / "two" / "blocks.bin", tmp_path / "one" / "blocks.bin")
    again = _open(chain, tmp_path / "one")
    assert again.get_state(CC, "two1") == b"1"
    assert again.get_state(CC, "one1") is None


def test_peers_with_the_same_history_share_a_block_validation(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from network.embedded.validator import Validator

    lookup = lambda n: DEFINITION if n == CC else None  # noqa: E731 - one lookup for both
    a = chain.open_ledger(tmp_path / "a", chaincode_definitions=lookup)
    b = chain.open_ledger(tmp_path / "b", chaincode_definitions=lookup)
    other = _open(chain, tmp_path / "c")  # its own lookup: never shares
    calls: list[str] = []
    real = Validator.validate_block

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(self.channel_config.channel_id)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Validator, "validate_block", counting)
    factory = chain.factory(a)
    first = endorse(a, chain.user("bsp1"), [chain.peer("tso")], _write("shared", b"1"))
    second = endorse(a, chain.user("bsp1"), [chain.peer("tso")], _write("shared", b"2"))
    block = factory.make_block([first.envelope, second.envelope, first.envelope])
    expected = [Code.VALID, Code.VALID, Code.DUPLICATE_TXID]
    assert a.commit(block) == expected
    assert b.commit(block) == expected
    assert len(calls) == 1  # b applied a's validation
    assert other.commit(block) == expected
    assert len(calls) == 2
    for ledger in (a, b, other):
        assert ledger.get_state(CC, "shared") == b"2"  # blind writes: the later one stands
        assert ledger.get_block(1).metadata.metadata == a.get_block(1).metadata.metadata
