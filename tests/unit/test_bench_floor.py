"""`cbp bench floor`: every cost it counts is timed on a real transaction's bytes."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2

from cbp.bench import floor
from network.embedded import protoutil


def test_floor_sample_is_a_transaction_the_engine_would_accept() -> None:
    key, _cert, ident = floor._identity()
    s = floor._sample(key, ident)
    env = common_pb2.Envelope.FromString(s.envelope)
    key.public_key().verify(env.signature, env.payload, ec.ECDSA(hashes.SHA256()))
    tx = protoutil.unpack_envelope(s.envelope)
    assert tx.txid == protoutil.compute_txid(tx.nonce, tx.creator)
    assert tx.action is not None and tx.action.namespace == "smoke"
    assert s.nonce_creator == tx.nonce + tx.creator


def test_floor_measures_each_cost_and_sums_them() -> None:
    items = floor.measure(repeat=20)
    groups = {i.group for i in items}
    assert groups == {"signatures", "hashing", "state writes", "messages"}
    assert sum(i.per_tx for i in items if i.what.startswith("verify")) == 4
    assert all(i.each_us > 0 for i in items)
    work, with_messages = floor.totals(items)
    assert 0 < work < with_messages
    text = floor.to_text(items, "a machine")
    assert f"{work / 1000:.2f} ms per tx" in text and "grpc.aio" in text
