"""The same scenario on the embedded engine and on real Fabric gives the same results.

One script of transactions (writes, reads, an event, a read conflict, a key-level endorsement
failure, chaincode errors, a tenant refused on another BSP's channel) runs through the project's
gateway client against each engine; the outcomes (results, validation codes, events, error
kinds) must be equal. Skipped, with the reason, where real Fabric binaries are absent.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from gateway import CommitError, EndorseError, GatewayError, from_profile
from network.embedded.policydsl import from_string

CHANNEL = "bsp1-channel"


@pytest.fixture(scope="module")
def embedded_profile(embedded_sandbox: Any) -> str:
    return str(embedded_sandbox.paths.connection_profile)


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except CommitError as exc:
        return ("commit", exc.code_name)
    except EndorseError:
        return ("endorse-error", None)
    except GatewayError as exc:
        return ("error", type(exc).__name__)


def scenario(profile: str) -> list[tuple[str, Any]]:
    run = uuid.uuid4().hex[:8]
    k, kle = f"agree-{run}", f"agree-kle-{run}"
    out: list[tuple[str, Any]] = []
    with from_profile("tso", "User1", profile) as gw:
        network = gw.get_network(CHANNEL)
        smoke = network.get_contract("smoke")
        out.append(_outcome(lambda: smoke.submit_transaction("Put", k, "v1")))
        out.append(_outcome(lambda: smoke.evaluate_transaction("Get", k)))
        # a read made stale by a write committed before it: MVCC_READ_CONFLICT on both engines
        reader = smoke.new_proposal("Get", k).endorse()
        smoke.submit_transaction("Put", k, "v2")
        status = reader.submit().get_status()
        out.append(("status", status.code_name))
        # the event a committed transaction carries
        commit = smoke.new_proposal("EmitEvent", "Agreed", "settled").endorse().submit()
        block = commit.get_status().block_number
        with network.chaincode_events("smoke", start_block=block) as events:
            ev = next(iter(events))
        out.append(
            ("event", (ev.event_name, ev.payload, ev.transaction_id == commit.transaction_id))
        )
        # key-level endorsement enforced at validation
        policy = base64.b64encode(from_string("OR('DSOHostMSP.peer')").SerializeToString()).decode()
        smoke.submit_transaction("Put", kle, "v0")
        smoke.submit_transaction(
            "SetKeyPolicy", kle, policy, endorsing_organizations=["DSOHostMSP"]
        )
        out.append(
            _outcome(
                lambda: smoke.submit_transaction(
                    "Put", kle, "v1", endorsing_organizations=["TSOMSP"]
                )
            )
        )
        out.append(_outcome(lambda: smoke.evaluate_transaction("Get", kle)))
        # chaincode errors
        out.append(_outcome(lambda: smoke.submit_transaction("NoSuchFunction")))
        out.append(_outcome(lambda: smoke.evaluate_transaction("Fail", "refused on purpose")))
        # `up` admits the topology's participants: the same record on both engines, but for
        # when and in which transaction (time and keys)
        registry = network.get_contract("registry")
        out.append(
            _outcome(lambda: _stable(registry.evaluate_transaction("ReadParticipant", "BSP1MSP")))
        )
    with from_profile("bsp2", "User1", profile) as gw:
        other = gw.get_network(CHANNEL).get_contract("smoke")
        out.append(_outcome(lambda: other.evaluate_transaction("Get", k)))
    return out


def _stable(record: bytes) -> dict[str, Any]:
    data = json.loads(record)
    return {k: v for k, v in data.items() if k not in ("admittedAt", "updatedAt", "lastTxId")}


def test_engines_agree_on_the_same_scenario(embedded_profile: str, fabric_network: Any) -> None:
    embedded = scenario(embedded_profile)
    fabric = scenario(str(fabric_network.paths.connection_profile))
    assert embedded == fabric
    # and the scenario says what it should, so that agreement is not agreement on nothing
    assert embedded[0] == ("ok", b"") and embedded[1] == ("ok", b"v1")
    assert embedded[2] == ("status", "MVCC_READ_CONFLICT")
    assert embedded[4] == ("commit", "ENDORSEMENT_POLICY_FAILURE")
    assert embedded[5] == ("ok", b"v0")
    assert embedded[-1][0] != "ok"
