"""The contract API: routing, typed arguments and results, hooks, GetMetadata."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from chaincode.runtime import ChaincodeError, Context, Contract, ContractRouter, transaction
from chaincode.runtime import messages as m
from chaincode.runtime.testing import FakePeer


class Direction(enum.StrEnum):
    CONSUMPTION = "consumption"
    GENERATION = "generation"


class Pod(BaseModel):
    podId: str = Field(min_length=3)
    contractedPower: float = Field(ge=0)
    direction: Direction = Direction.CONSUMPTION


class Registry(Contract):
    name = "registry"
    info = {"title": "Flex registry", "version": "0.1"}

    def __init__(self) -> None:
        self.calls: list[str] = []

    def before(self, ctx: Context) -> None:
        self.calls.append("before")
        ctx.caller = "alice"  # type: ignore[attr-defined]

    def after(self, ctx: Context, result: Any) -> None:
        self.calls.append(f"after:{result!r}")

    @transaction()
    def RegisterPod(self, ctx: Context, pod: Pod) -> Pod:
        return pod

    @transaction(evaluate=True)
    def Sum(self, ctx: Context, a: int, b: float, negate: bool = False) -> float:
        total = a + b
        return -total if negate else total

    @transaction(evaluate=True)
    def Tags(self, ctx: Context, tags: list[str], extra: dict[str, int]) -> dict[str, Any]:
        return {"z": tags, "a": extra, "caller": ctx.caller}  # type: ignore[attr-defined]

    @transaction(evaluate=True)
    def Flow(self, ctx: Context, direction: Direction) -> str:
        return direction.value

    def helper(self) -> None:
        """Not a transaction: must not be callable."""


class Other(Contract):
    name = "other"

    @transaction(name="Hello")
    def say_hello(self, ctx: Context, who: str) -> str:
        return f"hello {who}"

    def unknown(self, ctx: Context, fn: str) -> None:
        return None  # tolerate unknown functions, as a contract may choose to


def peer() -> FakePeer:
    return FakePeer(ContractRouter([Registry, Other]))


def test_chaincode_contract_first_contract_is_default_and_prefix_selects_contract() -> None:
    with peer() as p:
        assert p.invoke("Sum", "2", "0.5").payload == b"2.5"
        assert p.invoke("registry:Sum", "2", "0.5", "true").payload == b"-2.5"
        assert p.invoke("other:Hello", "bob").payload == b"hello bob"


def test_chaincode_contract_pydantic_argument_validated_and_result_sorted_json() -> None:
    with peer() as p:
        ok = p.invoke("RegisterPod", '{"podId":"IT002E1","contractedPower":3.5}')
        assert ok.payload == b'{"contractedPower":3.5,"direction":"consumption","podId":"IT002E1"}'
        bad = p.invoke("RegisterPod", '{"podId":"I","contractedPower":-1}')
        assert bad.status == 400
        assert "argument 'pod' of RegisterPod is not a valid Pod" in bad.error
        assert "podId" in bad.error and "contractedPower" in bad.error


def test_chaincode_contract_containers_enums_and_hooks() -> None:
    router = ContractRouter([Registry])
    contract = router._entries["registry"].contract  # noqa: SLF001 - inspect the hook log
    with FakePeer(router) as p:
        result = p.invoke("Tags", '["x","y"]', '{"n":1}')
        assert result.payload == b'{"a":{"n":1},"caller":"alice","z":["x","y"]}'
        assert p.invoke("Flow", "generation").payload == b"generation"
        wrong = p.invoke("Flow", "sideways")
        assert "expected one of consumption, generation" in wrong.error
    assert contract.calls[0] == "before"  # type: ignore[attr-defined]
    assert contract.calls[1].startswith("after:{")  # type: ignore[attr-defined]


def test_chaincode_contract_wrong_argument_count_and_bad_number_name_the_rule() -> None:
    with peer() as p:
        few = p.invoke("Sum", "1")
        assert few.status == 400
        assert few.error == "Sum takes 2 to 3 argument(s) (a, b, negate); 1 given"
        nan = p.invoke("Sum", "one", "2")
        assert nan.error.startswith("argument 'a' of Sum is not a valid int")
        flag = p.invoke("Sum", "1", "2", "maybe")
        assert "expected true or false" in flag.error


def test_chaincode_contract_unknown_function_and_contract() -> None:
    with peer() as p:
        missing = p.invoke("helper")
        assert missing.status == 400
        assert missing.error == "function 'helper' is not a transaction of contract 'registry'"
        tolerated = p.invoke("other:Nothing")
        assert tolerated.status == 200
        nowhere = p.invoke("ghost:Fn")
        assert nowhere.status == 400
        assert "contract 'ghost' is not served here" in nowhere.error


def test_chaincode_contract_no_arguments_is_default_initiator() -> None:
    with peer() as p:
        outcome = p.invoke()
        assert (outcome.status, outcome.payload) == (200, b"Default initiator successful.")


def test_chaincode_contract_init_message_runs_the_named_function() -> None:
    from chaincode.runtime import messages as m

    with peer() as p:
        p.handler.handle(p.transaction_message("Sum", "1", "1", msg_type=m.INIT))
        done = p.receive()
        assert done.type == m.COMPLETED
        assert m.Response.FromString(done.payload).payload == b"2.0"
        p.handler.handle(p.transaction_message("Sum", "x", "1", msg_type=m.INIT))
        failed = p.receive()
        assert failed.type == m.ERROR  # a failed init is an ERROR message, as Fabric's shims do
        assert b"argument 'a'" in failed.payload


def test_chaincode_contract_get_metadata_shape_matches_fabric_contract_api() -> None:
    with peer() as p:
        outcome = p.invoke("org.hyperledger.fabric:GetMetadata")
    meta = json.loads(outcome.payload)
    assert meta["$schema"].endswith("contract-schema.json")
    assert set(meta) == {"$schema", "info", "contracts", "components"}
    assert set(meta["contracts"]) == {"registry", "other", "org.hyperledger.fabric"}
    registry = meta["contracts"]["registry"]
    assert registry["name"] == "registry"
    assert registry["contractInstance"] == {"name": "registry", "default": True}
    assert registry["info"] == {"title": "Flex registry", "version": "0.1"}
    assert meta["contracts"]["other"]["contractInstance"] == {"name": "other"}
    txs = {t["name"]: t for t in registry["transactions"]}
    assert set(txs) == {"RegisterPod", "Sum", "Tags", "Flow"}
    assert txs["RegisterPod"]["tag"] == ["SUBMIT", "submitTx"]
    assert txs["Sum"]["tag"] == ["EVALUATE"]
    assert txs["Sum"]["parameters"] == [
        {"name": "a", "description": "", "schema": {"type": "integer"}},
        {"name": "b", "description": "", "schema": {"type": "number"}},
        {"name": "negate", "description": "", "schema": {"type": "boolean"}},
    ]
    assert txs["Sum"]["returns"] == {"type": "number"}
    assert txs["RegisterPod"]["parameters"][0]["schema"] == {"$ref": "#/components/schemas/Pod"}
    assert txs["Tags"]["parameters"][0]["schema"] == {"type": "array", "items": {"type": "string"}}
    pod_schema = meta["components"]["schemas"]["Pod"]
    assert pod_schema["$id"] == "Pod"
    assert set(pod_schema["properties"]) == {"podId", "contractedPower", "direction"}
    assert pod_schema["properties"]["direction"]["$ref"] == "#/components/schemas/Direction"
    assert "Direction" in meta["components"]["schemas"]
    assert [t["name"] for t in meta["contracts"]["other"]["transactions"]] == ["Hello"]
    system = meta["contracts"]["org.hyperledger.fabric"]
    assert system["transactions"][0]["name"] == "GetMetadata"


def test_chaincode_contract_explicit_default_contract_and_name_clash() -> None:
    class Unnamed(Contract):
        @transaction()
        def Ping(self, ctx: Context) -> str:
            return "pong"

    router = ContractRouter([Other, Unnamed])
    assert router.default_contract == "Unnamed"
    with FakePeer(router) as p:
        assert p.invoke("Ping").payload == b"pong"
        assert p.invoke("Unnamed:Ping").payload == b"pong"
    with pytest.raises(ValueError, match="two contracts are named 'other'"):
        ContractRouter([Other, Other])


def test_chaincode_contract_error_status_must_be_an_error() -> None:
    assert ChaincodeError("x").status == 500
    with pytest.raises(ValueError, match="400-599"):
        ChaincodeError("x", status=200)


class Ledger(Contract):
    @transaction()
    def Move(self, ctx: Context, source: str, target: str) -> str:
        value = ctx.stub.get_state(source)
        ctx.stub.put_state(target, value)
        ctx.stub.del_state(source)
        # a read after a write still sees the committed value, batched or not
        return ctx.stub.get_state(source).decode()

    @transaction()
    def Refuse(self, ctx: Context, key: str) -> None:
        ctx.stub.put_state(key, b"v")
        raise ChaincodeError("refused after writing")


class UnbatchedLedger(Ledger):
    write_batch = False


BATCHING_PEER = m.PeerParams(use_write_batch=True, max_size_write_batch=1000)


def test_chaincode_contract_writes_go_in_one_batch_at_the_end_when_the_peer_offers_it() -> None:
    with FakePeer(ContractRouter([Ledger]), params=BATCHING_PEER) as p:
        p.state[("", "a")] = b"1"
        outcome = p.invoke("Move", "a", "b")
        assert outcome.status == 200 and outcome.payload == b"1"
        assert [r.type for r in outcome.requests] == [m.GET_STATE, m.GET_STATE, m.WRITE_BATCH_STATE]
        assert p.state == {("", "b"): b"1"}


def test_chaincode_contract_failed_transaction_ships_no_batch() -> None:
    with FakePeer(ContractRouter([Ledger]), params=BATCHING_PEER) as p:
        outcome = p.invoke("Refuse", "k")
        assert outcome.status == 500 and outcome.error == "refused after writing"
        assert outcome.requests == [] and p.state == {}


def test_chaincode_contract_can_opt_out_of_write_batches() -> None:
    with FakePeer(ContractRouter([UnbatchedLedger]), params=BATCHING_PEER) as p:
        p.state[("", "a")] = b"1"
        outcome = p.invoke("Move", "a", "b")
        kinds = [r.type for r in outcome.requests]
        assert kinds == [m.GET_STATE, m.PUT_STATE, m.DEL_STATE, m.GET_STATE]
        assert p.state == {("", "b"): b"1"}
