"""The stub's ledger calls, as the messages the peer receives and the values contracts see."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import proposal_pb2

from chaincode.runtime import ChaincodeError, Context, Contract, ContractRouter, transaction
from chaincode.runtime import messages as m
from chaincode.runtime.keys import create_composite_key, split_composite_key
from chaincode.runtime.testing import FakePeer
from chaincode.smoke import SmokeContract


def smoke_peer(**kwargs: object) -> FakePeer:
    return FakePeer(ContractRouter([SmokeContract]), **kwargs)  # type: ignore[arg-type]


def test_chaincode_stub_put_get_delete_through_smoke_contract() -> None:
    with smoke_peer() as peer:
        assert peer.invoke("Put", "color", "blue").status == 200
        assert peer.invoke("Get", "color").payload == b"blue"
        assert peer.invoke("smoke:Delete", "color").status == 200
        assert peer.invoke("Get", "color").payload == b""


def test_chaincode_stub_range_pages_through_more_than_one_peer_batch() -> None:
    with smoke_peer() as peer:
        for i in range(250):
            peer.state[("", f"key{i:03d}")] = str(i).encode()
        outcome = peer.invoke("Range", "key000", "key999")
        records = json.loads(outcome.payload)
        assert len(records) == 250
        assert records[0] == {"key": "key000", "value": "0"}
        assert records[-1] == {"key": "key249", "value": "249"}
        kinds = [r.type for r in outcome.requests]
        assert kinds == [m.GET_STATE_BY_RANGE, m.QUERY_STATE_NEXT, m.QUERY_STATE_NEXT]


def test_chaincode_stub_pagination_sends_query_metadata_and_reads_bookmark() -> None:
    with smoke_peer() as peer:
        for i in range(25):
            peer.state[("", f"p{i:02d}")] = b"x"
        first = peer.invoke("RangePage", "p", "q", "10", "")
        request = shim.GetStateByRange.FromString(first.requests[0].payload)
        asked = shim.QueryMetadata.FromString(request.metadata)
        assert (asked.pageSize, asked.bookmark) == (10, "")
        page = json.loads(first.payload)
        assert page["fetchedRecordsCount"] == 10
        assert page["bookmark"] == "p10"
        assert [r["key"] for r in page["records"]][:2] == ["p00", "p01"]
        last = json.loads(peer.invoke("RangePage", "p", "q", "10", "p20").payload)
        assert last["fetchedRecordsCount"] == 5
        assert last["bookmark"] == ""


def test_chaincode_stub_pagination_metadata_from_last_batch_of_a_large_page() -> None:
    with smoke_peer() as peer:
        for i in range(150):
            peer.state[("", f"r{i:03d}")] = b"x"
        page = json.loads(peer.invoke("RangePage", "r", "s", "120").payload)
        assert page["fetchedRecordsCount"] == 120
        assert len(page["records"]) == 120
        assert page["bookmark"] == "r120"


def test_chaincode_stub_history_decodes_key_modifications_newest_first() -> None:
    with smoke_peer() as peer:
        put1 = peer.invoke("Put", "h", "one", txid="tx-one")
        put2 = peer.invoke("Put", "h", "two", txid="tx-two")
        peer.invoke("Delete", "h", txid="tx-del")
        assert put1.status == put2.status == 200
        history = json.loads(peer.invoke("History", "h").payload)
        assert [(h["txId"], h["value"], h["isDelete"]) for h in history] == [
            ("tx-del", "", True),
            ("tx-two", "two", False),
            ("tx-one", "one", False),
        ]
        stamps = [dt.datetime.fromisoformat(h["timestamp"]) for h in history]
        assert all(s.tzinfo is not None and s.utcoffset() == dt.timedelta(0) for s in stamps)
        assert stamps[0] > stamps[1] > stamps[2]


def test_chaincode_stub_event_private_data_and_transient() -> None:
    with smoke_peer() as peer:
        outcome = peer.invoke("EmitEvent", "PodRegistered", '{"id":1}')
        assert outcome.message.chaincode_event.event_name == "PodRegistered"
        assert outcome.message.chaincode_event.payload == b'{"id":1}'

        put = peer.invoke("PutPrivate", "tsoPrivate", "secret", transient={"value": b"s3cr3t"})
        assert put.status == 200
        written = shim.PutState.FromString(put.requests[0].payload)
        assert (written.collection, written.key, written.value) == (
            "tsoPrivate",
            "secret",
            b"s3cr3t",
        )
        assert peer.invoke("GetPrivate", "tsoPrivate", "secret").payload == b"s3cr3t"
        digest = peer.invoke("GetPrivateHash", "tsoPrivate", "secret").payload
        assert digest == hashlib.sha256(b"s3cr3t").hexdigest().encode()
        missing = peer.invoke("PutPrivate", "tsoPrivate", "other")
        assert missing.status == 500
        assert "transient field 'value'" in missing.error


def test_chaincode_stub_key_policy_is_state_metadata_validation_parameter() -> None:
    with smoke_peer() as peer:
        outcome = peer.invoke("SetKeyPolicy", "k", "AQID")
        request = outcome.requests[0]
        assert request.type == m.PUT_STATE_METADATA
        put = shim.PutStateMetadata.FromString(request.payload)
        assert (put.key, put.metadata.metakey, put.metadata.value) == (
            "k",
            "VALIDATION_PARAMETER",
            b"\x01\x02\x03",
        )
        assert peer.invoke("GetKeyPolicy", "k").payload == b"AQID"
        assert peer.invoke("SetKeyPolicy", "k", "not base64!").status == 500


def test_chaincode_stub_proposal_fields_timestamp_binding_and_args() -> None:
    seen: dict[str, object] = {}

    class Probe(Contract):
        @transaction()
        def Look(self, ctx: Context, a: str) -> None:
            stub = ctx.stub
            seen["args"] = stub.get_args()
            seen["fp"] = stub.get_function_and_parameters()
            seen["ts"] = stub.get_tx_timestamp()
            seen["binding"] = stub.get_binding()
            seen["creator"] = stub.get_creator()
            seen["ids"] = (stub.get_tx_id(), stub.get_channel_id())

    with FakePeer(ContractRouter([Probe])) as peer:
        msg = peer.transaction_message("Look", "x", txid="tx-probe")
        assert peer.invoke("Look", "x", txid="tx-probe").status == 200
        stamped = peer.clock  # each transaction is one second after the one before
    assert seen["args"] == [b"Look", b"x"]
    assert seen["fp"] == ("Look", ["x"])
    assert seen["ts"] == stamped == dt.datetime(2026, 1, 1, 0, 0, 2, tzinfo=dt.UTC)
    assert seen["ids"] == ("tx-probe", "ch1")
    proposal = proposal_pb2.Proposal.FromString(msg.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    sig = common_pb2.SignatureHeader.FromString(header.signature_header)
    expected = hashlib.sha256(sig.nonce + sig.creator + struct.pack("<Q", 0)).digest()
    assert seen["binding"] == expected
    assert seen["creator"] == sig.creator


def test_chaincode_stub_composite_keys_round_trip_and_partial_query() -> None:
    key = create_composite_key("pod", ["BSP1", "IT002E001"])
    assert key == "\x00pod\x00BSP1\x00IT002E001\x00"
    assert split_composite_key(key) == ("pod", ["BSP1", "IT002E001"])
    with pytest.raises(ChaincodeError, match="U\\+0000"):
        create_composite_key("pod", ["bad\x00attr"])

    class ByOwner(Contract):
        @transaction(evaluate=True)
        def List(self, ctx: Context, owner: str) -> list[list[str]]:
            return [
                split_composite_key(kv.key)[1]
                for kv in ctx.stub.get_state_by_partial_composite_key("pod", [owner])
            ]

    with FakePeer(ContractRouter([ByOwner])) as peer:
        for owner, pod in [("BSP1", "A"), ("BSP1", "B"), ("BSP2", "C")]:
            peer.state[("", create_composite_key("pod", [owner, pod]))] = b"{}"
        peer.state[("", "plain")] = b"{}"
        assert json.loads(peer.invoke("List", "BSP1").payload) == [["BSP1", "A"], ["BSP1", "B"]]


def test_chaincode_stub_simple_range_refuses_composite_namespace() -> None:
    with smoke_peer() as peer:
        outcome = peer.invoke("Range", "\x00pod", "")
        assert outcome.status == 400
        assert "reserved for composite keys" in outcome.error


def test_chaincode_stub_invoke_chaincode_sends_spec_and_reads_nested_response() -> None:
    with smoke_peer() as peer:
        peer.handler.handle(
            peer.transaction_message("InvokeOther", "other", "Get", '["k"]', "ch2", txid="tx-i")
        )
        request = peer.receive()
        assert request.type == m.INVOKE_CHAINCODE
        spec = m.ChaincodeSpec.FromString(request.payload)
        assert spec.chaincode_id.name == "other/ch2"
        assert list(spec.input.args) == [b"Get", b"k"]
        nested = m.ChaincodeMessage(
            type=m.COMPLETED,
            payload=m.Response(status=200, payload=b"from-other").SerializeToString(),
        )
        peer.handler.handle(
            m.ChaincodeMessage(
                type=m.RESPONSE,
                payload=nested.SerializeToString(),
                txid="tx-i",
                channel_id="ch1",
            )
        )
        done = peer.receive()
        assert m.Response.FromString(done.payload).payload == b"from-other"


class _Multi(Contract):
    @transaction(evaluate=True)
    def Many(self, ctx: Context, keys: list[str]) -> list[str]:
        return [v.decode() for v in ctx.stub.get_multiple_states(keys)]


# a peer that offers GET_STATE_MULTIPLE
_MULTI_PARAMS = m.PeerParams(use_get_multiple_keys=True, max_size_get_multiple_keys=100)


def test_chaincode_stub_get_multiple_states_uses_batch_message_when_offered() -> None:
    with FakePeer(ContractRouter([_Multi]), params=_MULTI_PARAMS) as peer:
        peer.state[("", "a")] = b"1"
        peer.state[("", "b")] = b"2"
        outcome = peer.invoke("Many", '["a","b","c"]')
        assert json.loads(outcome.payload) == ["1", "2", ""]
        assert [r.type for r in outcome.requests] == [m.GET_STATE_MULTIPLE]


def test_chaincode_stub_get_multiple_states_refuses_an_answer_short_of_values() -> None:
    with FakePeer(ContractRouter([_Multi]), params=_MULTI_PARAMS) as peer:
        msg = peer.transaction_message("Many", '["a","b","c"]')
        peer.handler.handle(msg)
        request = peer.receive()
        assert request.type == m.GET_STATE_MULTIPLE
        short = shim.GetStateMultipleResult(values=[b"1"]).SerializeToString()
        peer.handler.handle(
            m.ChaincodeMessage(
                type=m.RESPONSE, payload=short, txid=msg.txid, channel_id=msg.channel_id
            )
        )
        response = m.Response.FromString(peer.receive().payload)
        assert response.status == 500
        assert response.message == (
            "peer answered GET_STATE_MULTIPLE for 3 keys with 1 values; "
            "one value per key is the rule"
        )
