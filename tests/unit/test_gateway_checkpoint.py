from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from gateway import ChaincodeEvent, FileCheckpointer, InMemoryCheckpointer
from gateway.checkpoint import CheckpointError
from gateway.events import new_chaincode_events_request


def _event(block: int, tx: str) -> ChaincodeEvent:
    return ChaincodeEvent(block, tx, "registry", "PodRegistered", b"{}")


def test_checkpoint_file_resumes_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "listener.json"
    first = FileCheckpointer(path)
    assert (first.block_number, first.transaction_id) == (None, None)
    first.checkpoint_chaincode_event(_event(5, "txA"))
    restarted = FileCheckpointer(path)
    assert (restarted.block_number, restarted.transaction_id) == (5, "txA")
    restarted.checkpoint_block(5)
    again = FileCheckpointer(path)
    assert (again.block_number, again.transaction_id) == (6, None)
    assert json.loads(path.read_text()) == {"blockNumber": "6"}  # fabric-gateway's format


def test_checkpoint_file_write_is_atomic_replace(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cp.json"
    cp = FileCheckpointer(path)
    cp.checkpoint_transaction(3, "tx3")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(CheckpointError, match="No space left"):
        cp.checkpoint_transaction(4, "tx4")
    monkeypatch.undo()
    # The old checkpoint is intact, no temp file is left, and memory did not run ahead.
    assert json.loads(path.read_text()) == {"blockNumber": "3", "transactionId": "tx3"}
    assert [p.name for p in tmp_path.iterdir()] == ["cp.json"]
    assert (cp.block_number, cp.transaction_id) == (3, "tx3")


def test_checkpoint_file_refuses_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text("{not json")
    with pytest.raises(CheckpointError, match="is not a checkpoint"):
        FileCheckpointer(path)


def test_checkpoint_request_resumes_after_the_checkpointed_transaction() -> None:
    cp = InMemoryCheckpointer()
    cp.checkpoint_chaincode_event(_event(12, "txB"))
    signed = new_chaincode_events_request(
        channel="ch", chaincode="registry", creator=b"me", start_block=1, checkpoint=cp
    )
    req = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert req.start_position.specified.number == 12  # the checkpoint wins over start_block
    assert req.after_transaction_id == "txB"


def test_checkpoint_absent_uses_start_block_then_next_commit() -> None:
    fresh = InMemoryCheckpointer()
    signed = new_chaincode_events_request(
        channel="ch", chaincode="cc", creator=b"me", start_block=4, checkpoint=fresh
    )
    req = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert req.start_position.specified.number == 4 and req.after_transaction_id == ""
    signed = new_chaincode_events_request(channel="ch", chaincode="cc", creator=b"me")
    req = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert req.start_position.WhichOneof("Type") == "next_commit"
    assert isinstance(req.start_position.next_commit, ab_pb2.SeekNextCommit)
