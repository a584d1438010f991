"""Every refusal of the market phases: the rule named, the status given, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from market_fakes import (
    DAY_END,
    PERIOD,
    PRICE,
    U,
    accepted,
    activated,
    activation,
    clock,
    day_energies,
    market_ready,
    measured,
    offer,
    period,
    qualified,
    series,
)
from registry_fakes import (
    ARETI,
    BSP1,
    BSP1_EIC,
    BSP2,
    POD1,
    POD2,
    TSO,
    FakeLedger,
    Identity,
    attachment,
    bootstrapped,
    connection,
    relation,
    uvam,
    validated_pod,
)

from chaincode.runtime import ChaincodeError

STATEMENT = {"periodId": PERIOD, "flexibilityServiceProviderId": BSP1_EIC}
WITH_PRICE = {"price": PRICE}


def unqualified(ledger: FakeLedger) -> None:
    validated_pod(ledger, POD1)
    ledger.submit(BSP1, "RegisterUvam", uvam())
    ledger.submit(BSP1, "RegisterResourceInGroup", relation(U, POD1))
    ledger.submit(BSP1, "CreateAttachment", attachment({"resourceGroupId": U}))
    ledger.submit(BSP1, "RegisterConnection", connection(U))
    ledger.submit(TSO, "OpenMarketPeriod", period())


def open_period(ledger: FakeLedger) -> None:
    qualified(ledger)
    ledger.submit(TSO, "OpenMarketPeriod", period())


def past_gate(ledger: FakeLedger) -> None:
    open_period(ledger)
    clock(ledger, "2026-03-01T12:00:01Z")


def at(time: str, then: Callable[[FakeLedger], None]) -> Callable[[FakeLedger], None]:
    def setup(ledger: FakeLedger) -> None:
        then(ledger)
        clock(ledger, time)

    return setup


def half_used(ledger: FakeLedger) -> None:
    accepted(ledger)
    clock(ledger, "2026-03-02T09:50:00Z")
    ledger.submit(TSO, "SendActivation", activation(power=60.0))


def ended(ledger: FakeLedger) -> None:
    activated(ledger)
    clock(ledger, DAY_END)


def verified(ledger: FakeLedger) -> None:
    measured(ledger)
    ledger.submit(TSO, "VerifyActivation", "ACT-1")


def two_activations_one_verified(ledger: FakeLedger) -> None:
    accepted(ledger)
    clock(ledger, "2026-03-02T09:50:00Z")
    ledger.submit(TSO, "SendActivation", activation())
    clock(ledger, "2026-03-02T11:50:00Z")
    ledger.submit(
        TSO, "SendActivation", activation(activationId="ACT-2", start="2026-03-02T12:00:00Z")
    )
    clock(ledger, DAY_END)
    ledger.submit(BSP1, "AnchorSeries", series(U, "aggregate", day_energies()))
    ledger.submit(TSO, "VerifyActivation", "ACT-1")


def statement_issued(ledger: FakeLedger) -> None:
    verified(ledger)
    ledger.submit(TSO, "IssueStatement", STATEMENT)


AGG = series(U, "aggregate", day_energies())
# (setup, who, function, args, transient, status, words of the refusal)
Case = tuple[
    Callable[[FakeLedger], None], Identity, str, tuple[Any, ...], dict[str, Any] | None, int, str
]
CASES: dict[str, Case] = {
    # --- periods
    "period opened by a BSP": (
        qualified,
        BSP1,
        "OpenMarketPeriod",
        (period(),),
        None,
        403,
        "only the TSO may register market period MP-2026-03-02",
    ),
    "period whose gate is behind its clock": (
        qualified,
        TSO,
        "OpenMarketPeriod",
        (period(demoTime="2026-03-01T13:00:00Z"),),
        None,
        422,
        "gateClosure 2026-03-01T12:00:00Z is not ahead of the market time 2026-03-01T13:00:00Z",
    ),
    "period off the quarter hour": (
        qualified,
        TSO,
        "OpenMarketPeriod",
        (period(deliveryStart="2026-03-02T00:10:00Z"),),
        None,
        422,
        "deliveryStart 2026-03-02T00:10:00Z must fall on a quarter hour",
    ),
    "clock of a ledger-clock period": (
        lambda lg: (
            qualified(lg),
            lg.submit(
                TSO,
                "OpenMarketPeriod",
                period(clock=None, demoTime=None, gateClosure="2026-03-01T23:00:00Z"),
            ),
        ),
        TSO,
        "AdvanceMarketClock",
        (PERIOD, {"demoTime": "2026-03-02T00:00:00Z"}),
        None,
        409,
        "runs on the ledger's clock",
    ),
    # --- offers
    "offer after gate closure": (
        past_gate,
        BSP1,
        "SubmitOffer",
        (offer(),),
        WITH_PRICE,
        409,
        f"market period {PERIOD} closed for offers at 2026-03-01T12:00:00Z",
    ),
    "offer above the qualified power": (
        open_period,
        BSP1,
        "SubmitOffer",
        (offer(100.5),),
        WITH_PRICE,
        422,
        "100.5 kW at position 1 (00:00-00:15) exceeds UVAM UVAM-ROMA-1's qualified power up "
        "(maximumQualifiedPower) of 100 kW",
    ),
    "down offer above the qualified power down": (
        open_period,
        BSP1,
        "SubmitOffer",
        (offer(60.0, direction="A02"),),
        WITH_PRICE,
        422,
        "qualified power down (minimumQualifiedPower) of 50 kW",
    ),
    "offer for an unqualified UVAM": (
        unqualified,
        BSP1,
        "SubmitOffer",
        (offer(),),
        WITH_PRICE,
        409,
        "UVAM UVAM-ROMA-1 is Open; only a Qualified UVAM offers flexibility",
    ),
    "offer without its price": (
        open_period,
        BSP1,
        "SubmitOffer",
        (offer(),),
        None,
        422,
        "its price is missing; send it as the transient field 'price'",
    ),
    "offer with a price over the cap": (
        open_period,
        BSP1,
        "SubmitOffer",
        (offer(),),
        {"price": {"amount": 20000.0, "currency": "EUR"}},
        422,
        "price of offer OFF-1: field 'amount'",
    ),
    "offer for another BSP's UVAM": (
        open_period,
        BSP2,
        "SubmitOffer",
        (offer(),),
        WITH_PRICE,
        403,
        "only the owning BSP may register offer OFF-1",
    ),
    "second offer in the same slot": (
        market_ready,
        BSP1,
        "SubmitOffer",
        (offer(offerId="OFF-2"),),
        WITH_PRICE,
        409,
        "already has offer OFF-1 in market period",
    ),
    "offer beyond the period's steps": (
        open_period,
        BSP1,
        "SubmitOffer",
        (offer(quantities=[{"position": 97, "quantity": 10.0}]),),
        WITH_PRICE,
        422,
        "position 97 is beyond market period",
    ),
    "offer in an unknown direction": (
        open_period,
        BSP1,
        "SubmitOffer",
        (offer(direction="sideways"),),
        WITH_PRICE,
        422,
        "'sideways' is not one of A01, A02",
    ),
    "TSO accepting before the gate": (
        market_ready,
        TSO,
        "UpdateOfferStatus",
        ({"offerId": "OFF-1", "status": "Accepted"},),
        None,
        409,
        "are decided after its gate closes at 2026-03-01T12:00:00Z",
    ),
    "BSP accepting its own offer": (
        at("2026-03-01T12:00:00Z", market_ready),
        BSP1,
        "UpdateOfferStatus",
        ({"offerId": "OFF-1", "status": "Accepted"},),
        None,
        403,
        "only the TSO may move offer OFF-1 to Accepted",
    ),
    "rejection without a reason": (
        at("2026-03-01T12:00:00Z", market_ready),
        TSO,
        "UpdateOfferStatus",
        ({"offerId": "OFF-1", "status": "Rejected"},),
        None,
        422,
        "offer OFF-1: moving to Rejected needs a reason",
    ),
    "withdrawal after the gate": (
        at("2026-03-01T12:00:00Z", market_ready),
        BSP1,
        "UpdateOfferStatus",
        ({"offerId": "OFF-1", "status": "Withdrawn"},),
        None,
        409,
        "closed for offers",
    ),
    # --- activations
    "activation of an unaccepted offer": (
        at("2026-03-02T09:50:00Z", market_ready),
        TSO,
        "SendActivation",
        (activation(),),
        None,
        409,
        "offer OFF-1 is Submitted; only an Accepted offer is activated",
    ),
    "activation beyond the offer's quantity": (
        at("2026-03-02T09:50:00Z", accepted),
        TSO,
        "SendActivation",
        (activation(power=100.5),),
        None,
        422,
        "100.5 kW at 10:00-10:15 exceeds what offer OFF-1 has left there: 100 kW of the 100 kW",
    ),
    "activation beyond what earlier ones left": (
        half_used,
        TSO,
        "SendActivation",
        (activation(activationId="ACT-2", start="2026-03-02T10:00:00Z", power=50.0),),
        None,
        422,
        "has left there: 40 kW of the 100 kW accepted",
    ),
    "activation beyond the lead time": (
        at("2026-03-02T09:40:00Z", accepted),
        TSO,
        "SendActivation",
        (activation(),),
        None,
        422,
        "starts 20 minutes after it is sent (market time 2026-03-02T09:40:00Z); the lead time is "
        "at most 15 minutes",
    ),
    "activation in the past": (
        at("2026-03-02T10:05:00Z", accepted),
        TSO,
        "SendActivation",
        (activation(),),
        None,
        422,
        "before the market time 2026-03-02T10:05:00Z",
    ),
    "activation off the quarter hour": (
        at("2026-03-02T09:50:00Z", accepted),
        TSO,
        "SendActivation",
        (activation(start="2026-03-02T10:05:00Z"),),
        None,
        422,
        "start 2026-03-02T10:05:00Z must fall on a quarter hour",
    ),
    "activation sent by the BSP": (
        at("2026-03-02T09:50:00Z", accepted),
        BSP1,
        "SendActivation",
        (activation(),),
        None,
        403,
        "only the TSO may register activation ACT-1",
    ),
    "acknowledgement after the end": (
        at("2026-03-02T10:30:00Z", half_used),
        BSP1,
        "AcknowledgeActivation",
        ("ACT-1",),
        None,
        409,
        "ended at 2026-03-02T10:30:00Z",
    ),
    "acknowledgement by the TSO": (
        half_used,
        TSO,
        "AcknowledgeActivation",
        ("ACT-1",),
        None,
        403,
        "only the owning BSP may move activation ACT-1 to Acknowledged",
    ),
    # --- measurements
    "series of a device not in the UVAM": (
        ended,
        BSP1,
        "AnchorSeries",
        (series("EVSE-9", "device", day_energies()),),
        None,
        422,
        "flex device EVSE-9 is not a member of UVAM UVAM-ROMA-1 (neither itself nor its POD "
        f"{POD2})",
    ),
    "series for another BSP's activation": (
        ended,
        BSP2,
        "AnchorSeries",
        (series(U, "aggregate", day_energies(), activationId="ACT-1"),),
        None,
        403,
        "only the owning BSP may register series SER-",
    ),
    "series with an unknown resolution": (
        ended,
        BSP1,
        "AnchorSeries",
        (series(U, "aggregate", day_energies(), resolution="PT7M"),),
        None,
        422,
        "resolution 'PT7M' is not one the market knows: PT4S, PT1M",
    ),
    "series with gaps": (
        ended,
        BSP1,
        "AnchorSeries",
        (series(U, "aggregate", day_energies(), points=1439),),
        None,
        422,
        "1439 points at PT1M from 2026-03-02T00:00:00Z to 2026-03-03T00:00:00Z: the interval "
        "needs 1440 (a series has no gaps)",
    ),
    "series with a malformed hash": (
        ended,
        BSP1,
        "AnchorSeries",
        (series(U, "aggregate", day_energies(), sha256="abc"),),
        None,
        422,
        "must be 64 hexadecimal characters",
    ),
    "duplicate series": (
        lambda lg: (ended(lg), lg.submit(BSP1, "AnchorSeries", AGG)),
        BSP1,
        "AnchorSeries",
        (series(U, "aggregate", day_energies(rest=21.0)),),
        None,
        409,
        "is already anchored as SER-MP-2026-03-02-UVAM-ROMA-1",
    ),
    "series of a time not yet measured": (
        at("2026-03-02T10:30:00Z", half_used),
        BSP1,
        "AnchorSeries",
        (AGG,),
        None,
        409,
        "ends at 2026-03-03T00:00:00Z, after the market time 2026-03-02T10:30:00Z",
    ),
    "POD series by the BSP": (
        ended,
        BSP1,
        "AnchorSeries",
        (series(POD1, "pod", day_energies()),),
        None,
        403,
        "only the DSO named on the POD may register series SER-",
    ),
    "POD series of a POD outside the UVAM": (
        ended,
        ARETI,
        "AnchorSeries",
        (series(POD2, "pod", day_energies()),),
        None,
        422,
        f"POD {POD2} is not in UVAM UVAM-ROMA-1",
    ),
    # --- verification and settlement
    "verification before the end": (
        at("2026-03-02T10:15:00Z", activated),
        TSO,
        "VerifyActivation",
        ("ACT-1",),
        None,
        409,
        "ends at 2026-03-02T10:30:00Z (market time 2026-03-02T10:15:00Z); it is verified once "
        "delivered",
    ),
    "verification without the aggregate series": (
        ended,
        TSO,
        "VerifyActivation",
        ("ACT-1",),
        None,
        409,
        "has no aggregate series anchored for market period",
    ),
    "verification by the BSP": (
        measured,
        BSP1,
        "VerifyActivation",
        ("ACT-1",),
        None,
        403,
        "only the TSO may move activation ACT-1 to Verified",
    ),
    "verifying twice": (
        verified,
        TSO,
        "VerifyActivation",
        ("ACT-1",),
        None,
        409,
        "activation ACT-1 is Verified; it can move to Verified only from Sent or Acknowledged",
    ),
    "statement with an unverified activation": (
        two_activations_one_verified,
        TSO,
        "IssueStatement",
        (STATEMENT,),
        None,
        409,
        "activation ACT-2 is Sent; a statement of market period MP-2026-03-02 needs every "
        "activation of BSP 10XIT-BSP-ALFA-U Verified",
    ),
    "statement issued by the BSP": (
        verified,
        BSP1,
        "IssueStatement",
        (STATEMENT,),
        None,
        403,
        "only the TSO may register statement STM-",
    ),
    "statement twice": (
        statement_issued,
        TSO,
        "IssueStatement",
        (STATEMENT,),
        None,
        409,
        "is already issued",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_registry_market_refusal_names_the_rule_and_changes_nothing(case: str) -> None:
    setup, who, function, args, transient, status, text = CASES[case]
    ledger = bootstrapped()
    setup(ledger)
    before = ledger.snapshot()
    with pytest.raises(ChaincodeError) as info:
        ledger.submit(who, function, *args, transient=transient)
    assert text in info.value.message
    assert info.value.status == status
    assert ledger.snapshot() == before
    assert ledger.refused_writes == {}, "the refusal came after a write"


def test_registry_market_a_bsp_reading_another_bsps_statement_is_forbidden() -> None:
    ledger = bootstrapped()
    statement_issued(ledger)
    with pytest.raises(ChaincodeError) as info:
        ledger.evaluate(BSP2, "ReadStatement", f"STM-{PERIOD}-{BSP1_EIC}")
    assert info.value.status == 403
