from __future__ import annotations

import pytest
from fabric_protos.common import common_pb2

from network.embedded.blockcutter import BlockCutter, MessageTooLarge, message_size


def env(size: int) -> bytes:
    return common_pb2.Envelope(payload=b"p" * (size - 2), signature=b"ss").SerializeToString()


def test_blockcutter_cuts_by_message_count() -> None:
    bc = BlockCutter(3, 10_000, 100_000)
    assert bc.ordered(env(10)) == ([], True)
    assert bc.ordered(env(10)) == ([], True)
    batches, pending = bc.ordered(env(10))
    assert [len(b) for b in batches] == [3] and not pending
    assert bc.pending == 0


def test_blockcutter_cuts_before_preferred_bytes_overflow() -> None:
    bc = BlockCutter(100, 100, 100_000)
    bc.ordered(env(40))
    bc.ordered(env(40))
    batches, pending = bc.ordered(env(40))  # 120 > 100: the first two go out
    assert [len(b) for b in batches] == [2] and pending
    assert bc.cut() == [env(40)]


def test_blockcutter_oversized_message_travels_alone() -> None:
    bc = BlockCutter(100, 100, 100_000)
    bc.ordered(env(10))
    batches, pending = bc.ordered(env(500))
    assert [len(b) for b in batches] == [1, 1] and not pending
    assert batches[1] == [env(500)]


def test_blockcutter_message_size_and_absolute_max() -> None:
    assert message_size(env(77)) == 77
    bc = BlockCutter(10, 100, 200)
    with pytest.raises(MessageTooLarge, match="exceeds the channel's AbsoluteMaxBytes \\(200\\)"):
        bc.check_size(env(201))


def test_blockcutter_one_tx_per_block_and_timer_start() -> None:
    bc = BlockCutter(500, 10_000, 100_000, one_tx_per_block=True)
    batches, pending = bc.ordered(env(10))
    assert batches == [[env(10)]] and not pending
    bc2 = BlockCutter(5, 10_000, 100_000)
    assert bc2.pending_since is None
    bc2.ordered(env(10))
    assert bc2.pending_since is not None
    bc2.cut()
    assert bc2.pending_since is None
