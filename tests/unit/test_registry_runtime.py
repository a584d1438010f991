"""The registry served by the real chaincode runtime's handler, driven by its in-memory peer.

This checks the seams the contract relies on (argument conversion, identity from a real
certificate, error status, the one event on COMPLETED, metadata), not the ledger itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fabric_protos.peer import chaincode_shim_pb2 as shim
from registry_fakes import ARETI_EIC, BSP1_EIC, POD1, TSO_EIC, participant, pod, sandbox_config

from chaincode.registry import RegistryContract
from chaincode.runtime import ContractRouter
from chaincode.runtime.messages import PeerParams
from chaincode.runtime.testing import FakePeer, make_creator

TSO = make_creator(
    "TSOMSP", "User1@tso.cbp.local", {"role": "TSO", "eic": TSO_EIC}, "tso.cbp.local"
)
BSP1 = make_creator("BSP1MSP", "User1@bsp1.cbp.local", {"role": "BSP", "eic": BSP1_EIC})


@pytest.fixture
def peer() -> Iterator[FakePeer]:
    with FakePeer(
        ContractRouter([RegistryContract], config=sandbox_config("registry")),
        chaincode_id="registry:1",
    ) as running:
        yield running


def _admit(peer: FakePeer) -> None:
    for body in (
        participant("TSOMSP", TSO_EIC, "TSO", "Terna S.p.A."),
        participant("BSP1MSP", BSP1_EIC, "BSP", "BSP Alfa"),
        participant("ARETIMSP", ARETI_EIC, "DSO", "Areti", distributorCode="002"),
    ):
        outcome = peer.invoke("AdmitParticipant", json.dumps(body), creator=TSO)
        assert outcome.status == 200, outcome.error


def test_registry_runtime_register_pod_through_the_shim(peer: FakePeer) -> None:
    _admit(peer)
    outcome = peer.invoke("registry:RegisterPod", json.dumps(pod()), creator=BSP1)
    assert outcome.status == 200, outcome.error
    assert json.loads(outcome.payload)["status"] == "Registered"
    event = outcome.message.chaincode_event
    assert event.event_name == "PodRegistered"
    assert json.loads(event.payload)["actor"]["mspId"] == "BSP1MSP"
    read = peer.invoke("ReadPod", POD1, creator=BSP1)
    assert json.loads(read.payload)["meteringPointId"] == POD1


def test_registry_runtime_refusal_carries_status_and_writes_nothing(peer: FakePeer) -> None:
    _admit(peer)
    before = dict(peer.state)
    outcome = peer.invoke("RegisterPod", b'{"meteringPointId": \xff}', creator=BSP1)
    assert outcome.status == 422
    assert outcome.error.startswith("InvalidArgument: RegisterPod argument 'pod' is not UTF-8")
    assert peer.state == before
    assert not [r for r in outcome.requests if r.type == shim.ChaincodeMessage.PUT_STATE]


def test_registry_runtime_metadata_lists_the_transactions(peer: FakePeer) -> None:
    outcome = peer.invoke("org.hyperledger.fabric:GetMetadata", creator=BSP1)
    contract = json.loads(outcome.payload)["contracts"]["registry"]
    tags = {t["name"]: t["tag"] for t in contract["transactions"]}
    assert "SUBMIT" in tags["RegisterPod"] and "EVALUATE" in tags["ReadPod"]
    assert {"UpdatePodStatus", "RegisterResourceInGroup", "EndRelation"} <= set(tags)


# what a Fabric 3.1 peer offers in READY (core.yaml's chaincode.runtimeParams)
FABRIC_31 = PeerParams(
    use_write_batch=True,
    max_size_write_batch=1000,
    use_get_multiple_keys=True,
    max_size_get_multiple_keys=1000,
)
MULTIPLE = shim.ChaincodeMessage.GET_STATE_MULTIPLE


def test_registry_runtime_register_pod_is_one_read_and_one_write_request() -> None:
    with FakePeer(
        ContractRouter([RegistryContract], config=sandbox_config("registry")), params=FABRIC_31
    ) as peer:
        _admit(peer)
        outcome = peer.invoke("RegisterPod", json.dumps(pod()), creator=BSP1)
        assert outcome.status == 200, outcome.error
        assert [r.type for r in outcome.requests] == [
            shim.ChaincodeMessage.GET_STATE_MULTIPLE,
            shim.ChaincodeMessage.WRITE_BATCH_STATE,
        ]
        written = shim.WriteBatchState.FromString(outcome.requests[1].payload).rec
        assert len(written) == 4  # the POD and its owner, status and DSO index keys
        read = peer.invoke("ReadPod", POD1, creator=BSP1)
        assert json.loads(read.payload)["status"] == "Registered"
        again = peer.invoke("RegisterPod", json.dumps(pod()), creator=BSP1)
        assert again.status == 409 and again.error.startswith("AlreadyExists")


def test_registry_runtime_reads_a_pod_and_a_page_of_pods_in_one_request_each() -> None:
    with FakePeer(
        ContractRouter([RegistryContract], config=sandbox_config("registry")), params=FABRIC_31
    ) as peer:
        _admit(peer)
        ids = [POD1, "IT002E00112234", "IT002E00112235"]
        for pod_id in ids:
            outcome = peer.invoke("RegisterPod", json.dumps(pod(pod_id)), creator=BSP1)
            assert outcome.status == 200, outcome.error
        read = peer.invoke("ReadPod", POD1, creator=BSP1)
        assert json.loads(read.payload)["meteringPointId"] == POD1
        assert [r.type for r in read.requests] == [MULTIPLE]
        listed = peer.invoke("ListPodsByOwner", BSP1_EIC, "10", creator=BSP1)
        page = json.loads(listed.payload)
        assert sorted(r["meteringPointId"] for r in page["records"]) == sorted(ids)
        kinds = [r.type for r in listed.requests]
        assert kinds == [MULTIPLE, shim.ChaincodeMessage.GET_STATE_BY_RANGE, MULTIPLE]
