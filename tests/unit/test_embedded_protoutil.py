from __future__ import annotations

import hashlib

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from network.embedded import protoutil

Code = transaction_pb2.TxValidationCode


def test_protoutil_header_bytes_are_der_sequence_as_go_asn1_writes() -> None:
    header = common_pb2.BlockHeader(number=1, previous_hash=b"foo", data_hash=b"bar")
    assert protoutil.block_header_bytes(header) == bytes.fromhex(
        "300d020101040366 6f6f0403626172".replace(" ", "")
    )


@pytest.mark.parametrize(
    ("number", "encoded"),
    [
        (0, "020100"),
        (127, "02017f"),
        (128, "02020080"),
        (255, "020200ff"),
        (256, "02020100"),
        (2**63, "0209008000000000000000"),
        (2**64 - 1, "020900ffffffffffffffff"),
    ],
)
def test_protoutil_header_number_is_minimal_positive_integer(number: int, encoded: str) -> None:
    header = common_pb2.BlockHeader(number=number)
    raw = protoutil.block_header_bytes(header)
    body = bytes.fromhex(encoded) + b"\x04\x00\x04\x00"
    assert raw == bytes([0x30, len(body)]) + body


def test_protoutil_header_long_lengths_use_der_long_form() -> None:
    header = common_pb2.BlockHeader(number=5, previous_hash=b"p" * 200, data_hash=b"d" * 32)
    raw = protoutil.block_header_bytes(header)
    assert raw[:4] == bytes([0x30, 0x81, 3 + 3 + 200 + 2 + 32, 0x02])
    assert raw[5:9] == bytes([0x05, 0x04, 0x81, 200])
    assert protoutil.block_header_hash(header) == hashlib.sha256(raw).digest()


def test_protoutil_data_hash_is_sha256_of_concatenated_envelopes() -> None:
    data = common_pb2.BlockData(data=[b"abc", b"", b"def"])
    assert protoutil.block_data_hash(data) == hashlib.sha256(b"abcdef").digest()


def test_protoutil_txid_is_hex_sha256_of_nonce_and_creator() -> None:
    assert protoutil.compute_txid(b"n", b"c") == hashlib.sha256(b"nc").hexdigest()


def _signed_tx(payload_mismatch: bool = False) -> tuple[common_pb2.Envelope, str]:
    prop, txid = protoutil.create_proposal(
        b"creator", "ch", "cc", [b"Fn", b"a"], transient={"secret": b"x"}, nonce=b"nonce"
    )
    hdr = common_pb2.Header.FromString(prop.header)
    cpp = proposal_pb2.ChaincodeProposalPayload.FromString(prop.payload)
    action = proposal_pb2.ChaincodeAction(results=b"rw", events=b"")
    action.chaincode_id.name = "cc"
    prp = protoutil.create_proposal_response_payload(protoutil.proposal_hash(hdr, cpp), action)
    responses = [
        proposal_response_pb2.ProposalResponse(
            payload=prp if not (payload_mismatch and i) else prp + b"x",
            endorsement=proposal_response_pb2.Endorsement(endorser=b"e%d" % i, signature=b"s"),
        )
        for i in range(2)
    ]
    return protoutil.create_signed_tx(prop, responses, lambda m: b"sig"), txid


def test_protoutil_unpack_envelope_reaches_the_chaincode_action() -> None:
    env, txid = _signed_tx()
    parsed = protoutil.unpack_envelope(env.SerializeToString())
    assert parsed.txid == txid == protoutil.compute_txid(b"nonce", b"creator")
    assert parsed.channel_id == "ch"
    assert parsed.header_type == common_pb2.ENDORSER_TRANSACTION
    assert parsed.creator == b"creator"
    assert parsed.signature == b"sig"
    assert parsed.action is not None
    assert parsed.action.namespace == "cc"
    assert parsed.action.results == b"rw"
    assert [e.endorser for e in parsed.action.endorsements] == [b"e0", b"e1"]


def test_protoutil_transient_never_reaches_the_transaction() -> None:
    env, _ = _signed_tx()
    assert b"secret" not in env.SerializeToString()


def test_protoutil_create_signed_tx_refuses_mismatched_responses() -> None:
    with pytest.raises(ValueError, match="do not match"):
        _signed_tx(payload_mismatch=True)


def test_protoutil_unpack_proposal_exposes_args_and_transient() -> None:
    prop, txid = protoutil.create_proposal(
        b"creator", "ch", "cc", [b"Fn", b"a"], transient={"k": b"v"}
    )
    signed = proposal_pb2.SignedProposal(proposal_bytes=prop.SerializeToString(), signature=b"s")
    parsed = protoutil.unpack_proposal(signed.SerializeToString())
    assert parsed.txid == txid
    assert parsed.chaincode_name == "cc"
    assert parsed.args == [b"Fn", b"a"]
    assert parsed.transient == {"k": b"v"}
    assert parsed.chaincode_header_ext.chaincode_id.name == "cc"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xff", Code.INVALID_OTHER_REASON),
        (common_pb2.Envelope(payload=b"\xff\xff").SerializeToString(), Code.BAD_PAYLOAD),
        (
            common_pb2.Envelope(
                payload=common_pb2.Payload().SerializeToString()
            ).SerializeToString(),
            Code.BAD_COMMON_HEADER,
        ),
    ],
)
def test_protoutil_unpack_envelope_errors_carry_fabric_codes(raw: bytes, code: int) -> None:
    with pytest.raises(protoutil.ProtoError) as err:
        protoutil.unpack_envelope(raw)
    assert err.value.code == code


def test_protoutil_endorser_tx_with_two_actions_is_invalid_endorser_transaction() -> None:
    env, _ = _signed_tx()
    payload = common_pb2.Payload.FromString(env.payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    tx.actions.append(tx.actions[0])
    payload.data = tx.SerializeToString()
    env.payload = payload.SerializeToString()
    parsed = protoutil.unpack_envelope(env)
    assert parsed.action is None
    assert parsed.action_error is not None
    assert parsed.action_error.code == Code.INVALID_ENDORSER_TRANSACTION
    assert "exactly one is allowed" in str(parsed.action_error)
