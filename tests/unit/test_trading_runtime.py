"""The trading contract through the chaincode runtime's own handler (``FakePeer``): argument
conversion, statuses, events and the request count of a batch, as a peer sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from registry_fakes import sandbox_config

from chaincode.runtime import ContractRouter
from chaincode.runtime import messages as m
from chaincode.runtime.testing import FakePeer, make_creator
from chaincode.trading import TradingContract

USER = make_creator(
    "EVUsersMSP", "User1@evusers.cbp.local", {"hf.EnrollmentID": "User1@evusers.cbp.local"}
)
# What a Fabric 3.1 peer (and the embedded engine) offers in READY.
FABRIC_31 = m.PeerParams(
    use_write_batch=True,
    max_size_write_batch=1000,
    use_get_multiple_keys=True,
    max_size_get_multiple_keys=1000,
)
OPERATOR = make_creator(
    "InfraOpMSP", "User1@infraop.cbp.local", {"hf.EnrollmentID": "User1@infraop.cbp.local"}
)


@pytest.fixture()
def peer() -> Iterator[FakePeer]:
    with FakePeer(
        ContractRouter([TradingContract], config=sandbox_config("trading")),
        channel_id="p2p-trading",
        params=FABRIC_31,
    ) as p:
        ok = p.invoke(
            "SetMarketParameters",
            '{"buyThresholdPct":70,"sellThresholdPct":75,"priceEurPerKwh":0.15}',
            creator=OPERATOR,
        )
        assert ok.status == 200, ok.error
        yield p


def _ok(peer: FakePeer, *args: str, creator: bytes) -> dict:  # type: ignore[type-arg]
    out = peer.invoke(*args, creator=creator)
    assert out.status == 200, out.error
    return json.loads(out.payload)  # type: ignore[no-any-return]


def test_trading_runtime_journey_and_statuses(peer: FakePeer) -> None:
    _ok(peer, "DeclareEv", '{"evId":"B1","batteryCapacityKwh":60,"socPct":40}', creator=USER)
    _ok(peer, "DeclareEv", '{"evId":"S1","batteryCapacityKwh":100,"socPct":95}', creator=USER)
    trade = _ok(
        peer,
        "SubmitTrade",
        '{"tradeId":"T1","buyerId":"B1","sellerId":"S1","amountKwh":18.0}',
        creator=USER,
    )
    assert (trade["status"], trade["costEur"]) == ("Pending", "2.70")
    refused = peer.invoke(
        "SubmitTrade", '{"buyerId":"B1","sellerId":"S1","amountKwh":1}', creator=USER
    )
    assert refused.status == 409 and refused.error.startswith("InsufficientEnergy: ")
    forbidden = peer.invoke("ConfirmTrades", '{"confirmations":[{"tradeId":"T1"}]}', creator=USER)
    assert forbidden.status == 403 and "infrastructure operator (InfraOpMSP)" in forbidden.error
    batch = _ok(peer, "ConfirmTrades", '{"confirmations":[{"tradeId":"T1"}]}', creator=OPERATOR)
    assert batch["count"] == 1 and batch["batchId"].startswith("BATCH-")
    listed = _ok(peer, "ListTradesByStatus", "Confirmed", creator=USER)  # defaults apply
    assert [t["tradeId"] for t in listed["records"]] == ["T1"]
    assert _ok(peer, "ReadMarketParameters", creator=USER)["version"] == 1


def test_trading_runtime_batch_reads_in_one_request(peer: FakePeer) -> None:
    """A batch of n trades reads them (and the batch id) in one GET_STATE_MULTIPLE and writes
    everything in one WRITE_BATCH_STATE: two requests to the peer, whatever n."""
    _ok(peer, "DeclareEv", '{"evId":"B1","batteryCapacityKwh":100,"socPct":30}', creator=USER)
    _ok(peer, "DeclareEv", '{"evId":"S1","batteryCapacityKwh":100,"socPct":95}', creator=USER)
    for i in range(20):
        _ok(
            peer,
            "SubmitTrade",
            json.dumps({"tradeId": f"T{i}", "buyerId": "B1", "sellerId": "S1", "amountKwh": 1}),
            creator=USER,
        )
    body = json.dumps({"confirmations": [{"tradeId": f"T{i}"} for i in range(20)]})
    out = peer.invoke("ConfirmTrades", body, creator=OPERATOR)
    assert out.status == 200, out.error
    kinds = [r.type for r in out.requests]
    assert kinds == [m.GET_STATE_MULTIPLE, m.WRITE_BATCH_STATE]


def test_trading_takes_its_parties_from_the_configuration() -> None:
    """The operator and the EV users are the topology's INFRA and EVUSER organisations; served
    without a configuration, the chaincode refuses to start, naming the role it lacks."""
    from chaincode.runtime import ConfigError

    contract = TradingContract()
    contract.configure(sandbox_config("trading"))
    assert contract.parties is not None
    parties = contract.parties
    assert (parties.operator_msp_id, parties.ev_users_msp_id) == ("InfraOpMSP", "EVUsersMSP")
    with pytest.raises(ConfigError, match="role INFRA"):
        ContractRouter([TradingContract])
