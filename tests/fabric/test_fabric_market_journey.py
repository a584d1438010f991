"""The market journey on real Fabric v3.1 peers and orderer, through the gateway client.

What only real Fabric can tell: the registry's ``settlement`` collection, defined per channel
with that channel's BSP, holds offer prices and statements on the TSO's and the BSP host's
peers; transient data keeps the price out of the block, which carries only its hash; the DSO
is refused the statement. Skipped, with the reason, where the binaries are absent (the sandbox
tier runs the journey through the connectors with CBP_TEST_ENGINE=fabric). Named to run before
test_fabric_network, whose last test stops the session's network.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import pytest

from connector import esmp
from gateway import EndorseError, GatewayError, from_profile
from gateway.contract import Contract

T = TypeVar("T")
CHANNEL = "bsp1-channel"
TSO_EIC, BSP1_EIC, ARETI_EIC = "10X1001A1001A345", "10XIT-BSP-ALFA-U", "10XIT-ARETI----C"
HEADER = {
    "receiverId": TSO_EIC,
    "receiverCodingSchemeType": "A01",
    "flexibilityServiceProviderId": BSP1_EIC,
    "flexibilityServiceProviderCodingSchemeType": "A01",
}


def _pod(code: str) -> dict[str, Any]:
    return {
        **HEADER,
        "meteringPointId": code,
        "resourceType": "GridConnectionPoint",
        "resourceName": "Parking Ostiense",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": ARETI_EIC,
        "startDateTime": "2026-03-01T00:00:00Z",
    }


def _patiently(call: Callable[[], T]) -> T:
    """Real Fabric commits a block on each peer in its own time: a peer that has not committed
    the previous block yet reads an older state, and endorses or answers differently. Try again
    shortly, as a client would; a refusal that stays is raised."""
    for attempt in range(20):
        try:
            return call()
        except (EndorseError, GatewayError):
            if attempt == 19:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


def _submit(contract: Contract, function: str, *args: Any, **kw: Any) -> dict[str, Any]:
    encoded = [json.dumps(a) if isinstance(a, dict) else a for a in args]
    raw = _patiently(lambda: contract.submit_transaction(function, *encoded, **kw))
    result: dict[str, Any] = json.loads(raw)
    return result


def _qualified_uvam(bsp: Contract, tso: Contract, dso: Contract) -> tuple[str, str]:
    code = f"IT002E{uuid.uuid4().int % 10**8:08d}"
    pdf = base64.b64encode(b"%PDF-1.7\n% diagram\n").decode()
    attachment = {
        "senderId": BSP1_EIC,
        "senderCodingSchemeType": "A01",
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "externalDocumentId": "diagram.pdf",
        "documentType": "SingleLineDiagram",
        "mimeType": "application/pdf",
        "documentFile": pdf,
    }
    _submit(bsp, "RegisterPod", _pod(code))
    _submit(bsp, "CreateAttachment", {**attachment, "meteringPointId": code})
    _submit(bsp, "UpdatePodStatus", {"flexResourceId": code, "status": "UnderReview"})
    _submit(tso, "UpdatePodStatus", {"flexResourceId": code, "status": "PreValidated"})
    _submit(dso, "UpdatePodStatus", {"flexResourceId": code, "status": "Validated"})
    uvam = f"UVAM-F-{uuid.uuid4().hex[:8]}"
    _submit(
        bsp,
        "RegisterUvam",
        {
            **{k: v for k, v in HEADER.items()},
            "resourceGroupId": uvam,
            "technicalFlexibilityServiceProviderId": "10YIT-GRTN-----B",
            "type": "UVAM",
            "name": "Rome EV aggregate",
            "perimeter": "Centro-Sud",
            "maximumQualifiedPower": 40.0,
            "minimumQualifiedPower": 20.0,
            "marketType": "MSD",
            "period": "2026",
            "startDateTime": "2026-04-01T00:00:00Z",
        },
    )
    _submit(bsp, "RegisterResourceInGroup", {**HEADER, "resourceGroupId": uvam, "resource": code})
    _submit(bsp, "CreateAttachment", {**attachment, "resourceGroupId": uvam})
    _submit(
        bsp,
        "RegisterConnection",
        {
            "resourceGroupId": uvam,
            "receiverId": TSO_EIC,
            "receiverCodingSchemeType": "A01",
            "externalDocumentId": "connection.xml",
            "type": "IEC-104",
            "manufacturer": "ABB",
            "ipAddress": "10.20.30.40",
            "fullScaleMin": -50.0,
            "fullScaleMax": 50.0,
        },
    )
    _submit(bsp, "UpdateUvamStatus", {"resourceGroupId": uvam, "status": "UnderReview"})
    _submit(tso, "UpdateUvamStatus", {"resourceGroupId": uvam, "status": "Qualified"})
    return uvam, code


def test_market_journey_on_real_fabric_with_the_private_collection(fabric_network: Any) -> None:
    profile = str(fabric_network.paths.connection_profile)
    with (
        from_profile("bsp1", "User1", profile) as bgw,
        from_profile("tso", "User1", profile) as tgw,
        from_profile("areti", "User1", profile) as dgw,
    ):
        bsp, tso, dso = (g.get_network(CHANNEL).get_contract("registry") for g in (bgw, tgw, dgw))
        uvam, _ = _qualified_uvam(bsp, tso, dso)
        period = f"MP-F-{uuid.uuid4().hex[:8]}"
        _submit(
            tso,
            "OpenMarketPeriod",
            {
                "periodId": period,
                "deliveryStart": "2026-04-15T00:00:00Z",
                "deliveryEnd": "2026-04-16T00:00:00Z",
                "gateClosure": "2026-04-14T12:00:00Z",
                "clock": "demo",
                "demoTime": "2026-04-14T10:00:00Z",
            },
        )
        price = json.dumps({"amount": 180.0, "currency": "EUR"})
        offer_id = f"OFF-F-{uuid.uuid4().hex[:8]}"
        quantities = [{"position": p, "quantity": 40.0} for p in range(1, 97)]
        offer = {
            "offerId": offer_id,
            "periodId": period,
            "resourceGroupId": uvam,
            "direction": "A01",
            "quantities": quantities,
        }
        commit = _patiently(
            lambda: (
                bsp.new_proposal("SubmitOffer", json.dumps(offer), transient={"price": price})
                .endorse()
                .submit()
            )
        )
        assert commit.get_status().successful
        record = bgw.get_network(CHANNEL).get_transaction(commit.transaction_id)
        assert b"180" not in b"".join(record.args)
        assert record.private_collections == ("registry/settlement",)  # its hash only in the block
        read = _patiently(lambda: tso.evaluate_transaction("ReadOfferPrice", offer_id))
        assert json.loads(read)["amount"] == 180.0
        with pytest.raises((EndorseError, GatewayError)):
            dso.evaluate_transaction("ReadOfferPrice", offer_id)

        def clock(moment: str) -> None:
            _submit(tso, "AdvanceMarketClock", period, {"demoTime": moment})

        clock("2026-04-14T12:00:00Z")
        _submit(tso, "UpdateOfferStatus", {"offerId": offer_id, "status": "Accepted"})
        clock("2026-04-15T09:50:00Z")
        activation = _submit(
            tso,
            "SendActivation",
            {
                "offerId": offer_id,
                "start": "2026-04-15T10:00:00Z",
                "durationMinutes": 30,
                "power": 30.0,
            },
        )["activationId"]
        _submit(bsp, "AcknowledgeActivation", activation)
        clock("2026-04-16T00:00:00Z")
        minutes = [
            10.0 if 600 <= m < 615 else 12.0 if 615 <= m < 630 else 40.0 for m in range(1440)
        ]
        series = esmp.build("agg", uvam, datetime(2026, 4, 15, tzinfo=UTC), "PT1M", minutes)
        _, fp = esmp.fingerprint(series)
        anchor = {
            **fp.anchor(),
            "periodId": period,
            "resourceGroupId": uvam,
            "scope": "aggregate",
            "resource": uvam,
        }
        _submit(bsp, "AnchorSeries", anchor)
        verified = _submit(tso, "VerifyActivation", activation)["verification"]
        assert (verified["deliveredKwh"], verified["ratio"], verified["passed"]) == (
            14.5,
            0.9667,
            True,
        )
        statement = _submit(
            tso, "IssueStatement", {"periodId": period, "flexibilityServiceProviderId": BSP1_EIC}
        )["statementId"]
        for contract in (bsp, tso):
            detail = _patiently(partial(contract.evaluate_transaction, "ReadStatement", statement))
            assert json.loads(detail)["totals"]["amount"] == 2.61
        with pytest.raises((EndorseError, GatewayError)) as info:
            dso.evaluate_transaction("ReadStatement", statement)
        assert "and the TSO only" in str(info.value)
