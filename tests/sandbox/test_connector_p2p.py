"""The P2P market through the connectors of the EV users and the infrastructure operator, over
HTTP, on SQLite and PostgreSQL.

The seed's own two trades (18.0 kWh -> 2.70 EUR, 43.5 kWh -> 6.52 EUR) submitted by the EV
user, pending on both connectors, then confirmed by the operator in one batch and arriving on
the EV users' connector by the ledger's events; a rejection and a short delivery giving energy
back; every refusal, with the channel's height and both connectors' mirrors unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from connector_helpers import WAIT, LiveStream, until
from connectors import Connectors

from gateway import Gateway, from_profile

pytestmark = pytest.mark.sandbox

CHANNEL = "p2p-trading"
PARAMS = {"buyThresholdPct": "70", "sellThresholdPct": "75", "priceEurPerKwh": "0.15"}
ANOTHER_USER = "User2@evusers.cbp.local"  # an EV user other than the connector's


def ids(*names: str) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{run}-{n}" for n in names]


def ok(reply: httpx.Response) -> dict[str, Any]:
    """A write sent with Prefer: wait, committed."""
    assert reply.status_code == 200, reply.text
    op: dict[str, Any] = reply.json()
    assert op["status"] == "committed", op
    return op


@pytest.fixture(scope="module")
def market(connectors: Connectors) -> None:
    """The seed's parameters in force, set by the operator through its connector."""
    operator = connectors.client("infraop")
    current = operator.get("/p2p/parameters")
    if current.status_code == 200 and all(
        current.json()["record"][k] == v for k, v in PARAMS.items()
    ):
        return
    op = ok(operator.post("/p2p/parameters", json=PARAMS, headers=WAIT))
    assert op["result"]["priceEurPerKwh"] == "0.15"
    # the EV users' connector learns of them from the ledger's events
    until(
        lambda: (
            connectors.client("evusers").get("/p2p/parameters").json().get("id")
            == f"{op['result']['version']:06d}"
        ),
        what="the parameters on the EV users' connector",
    )


def declare(c: Connectors, ev_id: str, capacity: Any, soc: Any, **extra: Any) -> dict[str, Any]:
    body = {"evId": ev_id, "batteryCapacityKwh": capacity, "socPct": soc, **extra}
    org = "infraop" if "owner" in extra else "evusers"
    result: dict[str, Any] = ok(c.client(org).post("/p2p/evs", json=body, headers=WAIT))["result"]
    return result


def trade(c: Connectors, trade_id: str, buyer: str, seller: str, amount: Any) -> dict[str, Any]:
    body = {"tradeId": trade_id, "buyerId": buyer, "sellerId": seller, "amountKwh": amount}
    return ok(c.client("evusers").post("/p2p/trades", json=body, headers=WAIT))


def on(c: Connectors, org: str, path: str, check: Callable[[dict[str, Any]], bool]) -> Any:
    """`path` on `org`'s connector once `check` holds (its mirror follows the ledger's events)."""
    return until(
        lambda: (r := c.client(org).get(path)).status_code == 200 and check(r.json()) and r.json(),
        what=f"{path} on {org}'s connector",
    )


def test_connector_p2p_seed_trades_pending_then_confirmed_in_one_batch(
    connectors: Connectors, market: None
) -> None:
    b1, b2, s1, s2, t1, t2, batch = ids("B1", "B2", "S1", "S2", "T1", "T2", "BATCH")
    assert declare(connectors, b1, 60, 40)["requiredKwh"] == "18.000"  # (70 - 40) % x 60 kWh
    assert declare(connectors, b2, 100, "26.5")["requiredKwh"] == "43.500"
    assert declare(connectors, s1, 100, 95)["availableKwh"] == "20.000"
    assert declare(connectors, s2, 200, 97)["availableKwh"] == "44.000"  # an electric bus

    users = connectors.client("evusers")
    live = LiveStream(users)
    try:
        first = trade(connectors, t1, b1, s1, "18.0")
        second = trade(connectors, t2, b2, s2, 43.5)
        assert (first["result"]["costEur"], second["result"]["costEur"]) == ("2.70", "6.52")

        # pending, as the EV user's connector shows them (seed figure 6)
        pending = users.get("/p2p/trades", params={"status": "Pending", "q": t1[:8]}).json()
        shown = {
            p["id"]: (p["record"]["buyerId"], p["record"]["sellerId"], p["record"]["amountKwh"])
            for p in pending["items"]
        }
        assert shown == {t1: (b1, s1, "18.000"), t2: (b2, s2, "43.500")}
        assert users.get(f"/p2p/evs/{s1}").json()["record"]["remainingKwh"] == "2.000"
        # ... and as the operator's connector learns of them, from the ledger's events
        on(
            connectors,
            "infraop",
            f"/p2p/trades?status=Pending&q={t1[:8]}",
            lambda page: page["total"] == 2,
        )

        confirmations = [{"tradeId": t1}, {"tradeId": t2}]
        done = ok(
            connectors.client("infraop").post(
                "/p2p/batches",
                json={"batchId": batch, "confirmations": confirmations},
                headers=WAIT,
            )
        )
        assert (done["result"]["count"], done["result"]["deliveredKwh"]) == (2, "61.500")
        assert done["result"]["costEur"] == "9.22"
        assert done["links"]["resource"] == f"/p2p/batches/{batch}"
        # the operator reads its own confirmation at once: every trade the batch wrote
        read = connectors.client("infraop").get(f"/p2p/batches/{batch}").json()
        assert [(t["id"], t["status"], t["record"]["costEur"]) for t in read["trades"]] == [
            (t1, "Confirmed", "2.70"),
            (t2, "Confirmed", "6.52"),
        ]
        assert read["record"]["confirmed"]["by"]["mspId"] == "InfraOpMSP"

        # confirmed, on the EV user's connector (seed figure 7), without asking the operator
        confirmed = on(
            connectors,
            "evusers",
            f"/p2p/trades?status=Confirmed&batch={batch}",
            lambda page: page["total"] == 2,
        )
        assert {t["id"]: t["parentId"] for t in confirmed["items"]} == {t1: batch, t2: batch}
        until(
            lambda: any(e.get("to") == "Confirmed" for e in live.resource_events(t1)),
            what="the confirmation on the EV user's live stream",
        )
        event = next(e for e in live.resource_events(t1) if e.get("to") == "Confirmed")
        assert (event["entity"], event["actor"]["mspId"], event["channel"]) == (
            "Trade",
            "InfraOpMSP",
            CHANNEL,
        )
        assert event["block"] == done["blockNumber"]
    finally:
        live.close()

    balance = users.get(f"/p2p/evs/{s2}/balance").json()
    assert (balance["soldKwh"], balance["earnedEur"], balance["trades"]["Confirmed"]) == (
        "43.500",
        "6.52",
        1,
    )
    assert users.get(f"/p2p/evs/{b1}/balance").json()["paidEur"] == "2.70"
    history = users.get(f"/p2p/trades/{t1}/history").json()
    assert [h["value"]["status"] for h in history] == ["Pending", "Confirmed"]
    assert history[0]["txId"] == first["transactionId"]
    assert all(not h["timestamp"].startswith("1970") for h in history)
    of_s2 = users.get(f"/p2p/evs/{s2}/trades").json()
    assert [r["tradeId"] for r in of_s2["records"]] == [t2]


def test_connector_p2p_rejection_and_short_delivery_give_energy_back(
    connectors: Connectors, market: None
) -> None:
    b, s, rejected, short = ids("B", "S", "R", "SHORT")
    declare(connectors, b, 60, 40)  # needs 18.000
    declare(connectors, s, 100, 95)  # has 20.000
    trade(connectors, rejected, b, s, 5)
    trade(connectors, short, b, s, 10)
    operator = connectors.client("infraop")
    on(connectors, "infraop", f"/p2p/trades/{short}", lambda t: t["status"] == "Pending")

    reason = "charger 4 out of service"
    ok(operator.post(f"/p2p/trades/{rejected}/rejection", json={"reason": reason}, headers=WAIT))
    ok(
        operator.post(
            "/p2p/batches",
            json={"confirmations": [{"tradeId": short, "deliveredKwh": "7.5"}]},
            headers=WAIT,
        )
    )
    users = connectors.client("evusers")
    gone = on(connectors, "evusers", f"/p2p/trades/{rejected}", lambda t: t["status"] == "Rejected")
    assert (gone["record"]["reason"], gone["record"]["costEur"]) == (reason, "0.00")
    done = on(connectors, "evusers", f"/p2p/trades/{short}", lambda t: t["status"] == "Confirmed")
    assert (done["record"]["deliveredKwh"], done["record"]["costEur"]) == ("7.500", "1.12")
    # 18 - 5 - 10 taken; 5 (rejected) and 2.5 (not delivered) given back
    seller = on(
        connectors, "evusers", f"/p2p/evs/{s}", lambda e: e["record"]["remainingKwh"] == "12.500"
    )
    assert seller["status"] == "Seller"
    assert users.get(f"/p2p/evs/{b}").json()["record"]["remainingKwh"] == "10.500"


# -- refusals -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger(connectors: Connectors) -> Iterator[Gateway]:
    with from_profile("infraop", "User1", connectors.profile) as gw:
        yield gw


@pytest.fixture(scope="module")
def lot(connectors: Connectors, market: None) -> dict[str, str]:
    """A buyer needing 18 kWh with 6 taken (5 pending, 1 confirmed), a seller with 14 kWh left,
    a bigger buyer, a neutral EV, and another EV user's buyer (declared by the operator)."""
    names = ("B", "BIG", "S", "N", "OTHER", "P", "D")
    b, big, s, n, other, pending, done = ids(*names)
    declare(connectors, b, 60, 40)
    declare(connectors, big, 100, 30)  # needs 40.000
    declare(connectors, s, 100, 95)
    declare(connectors, n, 60, 72)
    declare(connectors, other, 60, 40, owner=ANOTHER_USER)
    trade(connectors, pending, b, s, 5)
    trade(connectors, done, b, s, 1)
    on(connectors, "infraop", f"/p2p/trades/{done}", lambda t: t["status"] == "Pending")
    ok(
        connectors.client("infraop").post(
            "/p2p/batches", json={"confirmations": [{"tradeId": done}]}, headers=WAIT
        )
    )
    on(connectors, "infraop", f"/p2p/trades/{pending}", lambda t: t["status"] == "Pending")
    on(connectors, "evusers", f"/p2p/evs/{other}", lambda e: e["parentId"] == ANOTHER_USER)
    return dict(zip(names, (b, big, s, n, other, pending, done), strict=True))


Call = Callable[[Connectors, dict[str, str]], httpx.Response]


def _post(
    org: str, path: str, body: Callable[[dict[str, str]], Any], access: str = "operator"
) -> Call:
    def call(c: Connectors, lot: dict[str, str]) -> httpx.Response:
        return c.client(org, access).post(path.format(**lot), json=body(lot), headers=WAIT)

    return call


def _trade(buyer: str, seller: str, amount: Any, access: str = "operator") -> Call:
    return _post(
        "evusers",
        "/p2p/trades",
        lambda lot: {
            "buyerId": lot.get(buyer, buyer),
            "sellerId": lot.get(seller, seller),
            "amountKwh": amount,
        },
        access,
    )


def _confirm(org: str, *confirmations: dict[str, Any]) -> Call:
    return _post(
        org,
        "/p2p/batches",
        lambda lot: {
            "confirmations": [
                {**c, "tradeId": lot.get(c["tradeId"], c["tradeId"])} for c in confirmations
            ]
        },
    )


def _declare(org: str, **body: Any) -> Call:
    return _post(org, "/p2p/evs", lambda lot: {"batteryCapacityKwh": 60, "socPct": 50, **body})


# case -> (call, status, code, the field it names or None, words of the message)
CASES: dict[str, tuple[Call, int, str, str | None, str]] = {
    "over the buyer's need": (
        _trade("B", "S", "12.001"),
        409,
        "InsufficientEnergy",
        None,
        "exceeds buyer EV {B}'s remaining need of 12.000 kWh",
    ),
    "over the seller's remaining energy": (
        _trade("BIG", "S", "14.5"),
        409,
        "InsufficientEnergy",
        None,
        "exceeds seller EV {S}'s remaining 14.000 kWh",
    ),
    "zero amount": (_trade("B", "S", 0), 422, "InvalidArgument", "amountKwh", "greater than 0"),
    "negative amount": (
        _trade("B", "S", -2),
        422,
        "InvalidArgument",
        "amountKwh",
        "greater than 0",
    ),
    "an amount finer than a Wh": (
        _trade("B", "S", "1.0005"),
        422,
        "InvalidArgument",
        "amountKwh",
        "no more than 3 decimal places",
    ),
    "an amount that is no number": (
        _trade("B", "S", "lots"),
        422,
        "InvalidArgument",
        "amountKwh",
        "valid decimal",
    ),
    "a seller that is not a seller": (
        _trade("B", "N", 1),
        409,
        "WrongState",
        None,
        "EV {N} is a Neutral",
    ),
    "an EV trading with itself": (
        _trade("B", "B", 1),
        422,
        "InvalidArgument",
        None,
        "an EV cannot trade with itself",
    ),
    "an unknown seller": (
        _trade("B", "NO-SUCH-EV", 1),
        404,
        "NotFound",
        None,
        "EV NO-SUCH-EV is not declared",
    ),
    "another EV user's EV as buyer": (
        _trade("OTHER", "S", 1),
        403,
        "Forbidden",
        None,
        f"only EV {{OTHER}}'s owner ({ANOTHER_USER}) submits trades as its buyer",
    ),
    "a viewer submits a trade": (
        _trade("B", "S", 1, access="viewer"),
        403,
        "Forbidden",
        None,
        "may not submit P2P trades",
    ),
    "the operator submits a trade": (
        _post(
            "infraop",
            "/p2p/trades",
            lambda lot: {"buyerId": lot["B"], "sellerId": lot["S"], "amountKwh": 1},
        ),
        403,
        "Forbidden",
        None,
        "may not submit P2P trades",
    ),
    "an EV user confirms": (
        _confirm("evusers", {"tradeId": "P"}),
        403,
        "Forbidden",
        None,
        "may not set the P2P market's parameters, confirm trades",
    ),
    "an EV user rejects": (
        _post("evusers", "/p2p/trades/{P}/rejection", lambda lot: {"reason": "mine"}),
        403,
        "Forbidden",
        None,
        "may not set the P2P market's parameters, confirm trades in batches and reject them",
    ),
    "an EV user sets the parameters": (
        _post("evusers", "/p2p/parameters", lambda lot: PARAMS),
        403,
        "Forbidden",
        None,
        "may not set the P2P market's parameters",
    ),
    "a confirmation of an unknown trade": (
        _confirm("infraop", {"tradeId": "NO-SUCH-TRADE"}),
        404,
        "NotFound",
        None,
        "trade NO-SUCH-TRADE does not exist",
    ),
    "a confirmation of a final trade": (
        _confirm("infraop", {"tradeId": "P"}, {"tradeId": "D"}),
        409,
        "WrongState",
        None,
        "trade {D} is Confirmed, which is final; only a Pending trade can be confirmed",
    ),
    "more delivered than agreed": (
        _confirm("infraop", {"tradeId": "P", "deliveredKwh": "5.001"}),
        422,
        "InvalidArgument",
        None,
        "trade {P}: delivered 5.001 kWh exceeds the agreed 5.000 kWh",
    ),
    "a trade twice in a batch": (
        _confirm("infraop", {"tradeId": "P"}, {"tradeId": "P"}),
        422,
        "InvalidArgument",
        None,
        "appears twice in the batch",
    ),
    "a batch over 500 trades": (
        _confirm("infraop", *({"tradeId": f"T{i}"} for i in range(501))),
        422,
        "InvalidArgument",
        "confirmations",
        "at most 500 items",
    ),
    "an empty batch": (
        _confirm("infraop"),
        422,
        "InvalidArgument",
        "confirmations",
        "at least 1 item",
    ),
    "a rejection without a reason": (
        _post("infraop", "/p2p/trades/{P}/rejection", lambda lot: {"reason": " "}),
        422,
        "InvalidArgument",
        "reason",
        "at least 1 character",
    ),
    "a rejection of an unknown trade": (
        _post("infraop", "/p2p/trades/NO-SUCH-TRADE/rejection", lambda lot: {"reason": "x"}),
        404,
        "NotFound",
        None,
        "trade NO-SUCH-TRADE is not known to this connector",
    ),
    "a state of charge over 100 %": (
        _declare("evusers", evId="EV-X", socPct="100.5"),
        422,
        "InvalidArgument",
        "socPct",
        "less than or equal to 100",
    ),
    "a negative state of charge": (
        _declare("evusers", evId="EV-X", socPct=-1),
        422,
        "InvalidArgument",
        "socPct",
        "greater than or equal to 0",
    ),
    "an EV id with a space": (
        _declare("evusers", evId="EV 7"),
        422,
        "InvalidArgument",
        "evId",
        "is not an id",
    ),
    "an EV user declares another's EV": (
        _declare("evusers", evId="EV-X", owner=ANOTHER_USER),
        403,
        "Forbidden",
        None,
        "an EV user declares its own EVs",
    ),
    "the operator declares without an owner": (
        _declare("infraop", evId="EV-X"),
        422,
        "InvalidArgument",
        "owner",
        "the operator declaring an EV names its owner",
    ),
    "thresholds the wrong way round": (
        _post(
            "infraop",
            "/p2p/parameters",
            lambda lot: {"buyThresholdPct": 80, "sellThresholdPct": 75, "priceEurPerKwh": "0.15"},
        ),
        422,
        "InvalidArgument",
        None,
        "an EV could be both buyer and seller (eq. 1)",
    ),
    "a misspelt field": (
        _post(
            "evusers",
            "/p2p/trades",
            lambda lot: {"buyerId": lot["B"], "sellerId": lot["S"], "amountkWh": 1},
        ),
        422,
        "InvalidArgument",
        "amountkWh",
        "is not a field of this request",
    ),
    "a connector off the market": (
        lambda c, lot: c.client("tso").get("/p2p/trades"),
        404,
        "NotFound",
        None,
        "takes no part in the P2P market",
    ),
}


def _state(c: Connectors, ledger: Gateway, lot: dict[str, str]) -> tuple[int, Any, Any]:
    """The channel's height and what each connector's mirror holds of the lot's EVs and trades."""
    height = ledger.get_network(CHANNEL).get_chain_info().height
    run = lot["B"].split("-")[0]
    mirrors = {}
    for org in ("evusers", "infraop"):
        client = c.client(org)
        evs = client.get("/p2p/evs", params={"q": run}).json()["items"]
        trades = client.get("/p2p/trades", params={"q": run}).json()["items"]
        mirrors[org] = sorted(
            (r["kind"], r["id"], r["status"], str(r["record"])) for r in evs + trades
        )
    total = c.client("evusers").get("/p2p/trades", params={"limit": 1}).json()["total"]
    return height, mirrors, total


@pytest.mark.parametrize("case", list(CASES))
def test_connector_p2p_refusal_changes_nothing(
    case: str, connectors: Connectors, ledger: Gateway, lot: dict[str, str]
) -> None:
    call, status, code, field, words = CASES[case]
    before = _state(connectors, ledger, lot)
    reply = call(connectors, lot)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["status"] == status and error["code"] == code, error
    assert words.format(**lot) in error["message"], error["message"]
    if field is not None:
        assert field in [f["field"] for f in error["fields"]], error
    assert "Traceback" not in reply.text
    assert _state(connectors, ledger, lot) == before
