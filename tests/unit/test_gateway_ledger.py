from __future__ import annotations

from datetime import UTC, datetime

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from test_gateway_helpers import issue, make_block, new_ca, serialized_identity

from gateway.ledger import KVRead, KVWrite, decode_block, decode_processed_transaction


def _endorser_envelope(creator: bytes, endorser: bytes) -> bytes:
    kv = kv_rwset_pb2.KVRWSet(
        reads=[kv_rwset_pb2.KVRead(key="POD~IT1", version=kv_rwset_pb2.Version(block_num=3))],
        writes=[kv_rwset_pb2.KVWrite(key="POD~IT1", value=b'{"status":"Open"}')],
    )
    ns = rwset_pb2.NsReadWriteSet(namespace="registry", rwset=kv.SerializeToString())
    ns.collection_hashed_rwset.add(collection_name="tsoPrivate", hashed_rwset=b"h")
    results = rwset_pb2.TxReadWriteSet(ns_rwset=[ns])
    event = chaincode_event_pb2.ChaincodeEvent(event_name="PodOpened", payload=b"x")
    cc_action = proposal_pb2.ChaincodeAction(
        results=results.SerializeToString(),
        events=event.SerializeToString(),
        response=proposal_response_pb2.Response(status=200),
    )
    prp = proposal_response_pb2.ProposalResponsePayload(extension=cc_action.SerializeToString())
    spec = chaincode_pb2.ChaincodeSpec(
        chaincode_id=chaincode_pb2.ChaincodeID(name="registry"),
        input=chaincode_pb2.ChaincodeInput(args=[b"OpenPod", b"IT1"]),
    )
    cpp = proposal_pb2.ChaincodeProposalPayload(
        input=chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=spec).SerializeToString()
    )
    cap = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=cpp.SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=prp.SerializeToString(),
            endorsements=[proposal_response_pb2.Endorsement(endorser=endorser, signature=b"s")],
        ),
    )
    tx = transaction_pb2.Transaction(
        actions=[transaction_pb2.TransactionAction(payload=cap.SerializeToString())]
    )
    ch = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, channel_id="bsp1-channel", tx_id="tx77"
    )
    ch.timestamp.FromDatetime(datetime(2025, 5, 1, 12, 0, tzinfo=UTC))
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=ch.SerializeToString(),
            signature_header=common_pb2.SignatureHeader(creator=creator).SerializeToString(),
        ),
        data=tx.SerializeToString(),
    )
    return bytes(common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString())


def test_ledger_decodes_endorser_transaction_for_audit() -> None:
    creator = serialized_identity("BSP1MSP", issue(new_ca(), "User1@bsp1"))
    endorser = serialized_identity("TSOMSP", issue(new_ca(), "peer0.tso"))
    env = _endorser_envelope(creator, endorser)
    block = make_block(4, b"\x01" * 32, [env])
    block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes([11])
    (tx,) = decode_block(block).transactions
    assert (tx.transaction_id, tx.channel, tx.type, tx.block_number) == (
        "tx77",
        "bsp1-channel",
        "ENDORSER_TRANSACTION",
        4,
    )
    assert tx.creator_msp == "BSP1MSP" and "CN=User1@bsp1" in tx.creator_subject
    assert (tx.chaincode, tx.function, tx.args) == ("registry", "OpenPod", (b"IT1",))
    assert tx.endorsers == ("TSOMSP",)
    assert tx.reads == (KVRead("registry", "POD~IT1", (3, 0)),)
    assert tx.writes == (KVWrite("registry", "POD~IT1", b'{"status":"Open"}', False),)
    assert tx.private_collections == ("registry/tsoPrivate",)
    assert tx.events == ("PodOpened",)
    assert tx.validation == "MVCC_READ_CONFLICT" and not tx.valid
    assert tx.timestamp == datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def test_ledger_decodes_processed_transaction() -> None:
    creator = serialized_identity("BSP1MSP", issue(new_ca(), "User1@bsp1"))
    processed = transaction_pb2.ProcessedTransaction(validationCode=0)
    processed.transactionEnvelope.ParseFromString(_endorser_envelope(creator, creator))
    tx = decode_processed_transaction(processed.SerializeToString())
    assert tx.valid and tx.transaction_id == "tx77"
