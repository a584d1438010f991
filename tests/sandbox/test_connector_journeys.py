"""The seed's POD and UVAM journeys through the connectors' HTTP API, on the running sandbox.

Every write is accepted at once and followed to its commit through `/operations`; the ledger
is asked about the transaction each operation names; TSO and DSO decisions reach the BSP's
connector as ledger events (its live stream and its webhook), without the BSP asking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connector_helpers import (
    BSP1_EIC,
    PDF,
    LiveStream,
    WebhookReceiver,
    charger,
    committed,
    connection_body,
    diagram,
    new_pod_code,
    pod_body,
    until,
    uvam_body,
)
from connectors import Connectors

from connector.webhooks import SIGNATURE_HEADER, verify
from gateway import Gateway, from_profile

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def ledger(connectors: Connectors) -> Iterator[Gateway]:
    with from_profile("tso", "User1", connectors.profile) as gw:
        yield gw


def _on_ledger(ledger: Gateway, op: dict[str, Any]) -> None:
    """The transaction the operation names is in the block it names, and VALID."""
    network = ledger.get_network(op["channel"])
    assert network.get_transaction(op["transactionId"]).valid
    block = network.get_block_by_transaction_id(op["transactionId"])
    assert block.header.number == op["blockNumber"]


def test_connector_pod_journey(connectors: Connectors, ledger: Gateway) -> None:
    bsp, tso, dso = connectors.client("bsp1"), connectors.client("tso"), connectors.client("areti")
    hook = WebhookReceiver()
    stream = LiveStream(connectors.client("bsp1"))
    secret = bsp.put("/webhook", json={"url": hook.url}).json()["secret"]
    code = new_pod_code()
    try:
        registered = committed(bsp, "POST", "/pods", pod_body(code))
        assert registered["resourceId"] == code and registered["result"]["status"] == "Registered"
        _on_ledger(ledger, registered)
        for n in (1, 2):
            device = committed(bsp, "POST", f"/pods/{code}/devices", charger(code, n))
            assert device["resourceId"] == f"{code}-EVSE-{n}"
        upload = bsp.post(
            f"/pods/{code}/attachments/upload",
            files={"file": ("single-line-diagram.pdf", PDF, "application/pdf")},
            data={"documentType": "SingleLineDiagram"},
        )
        assert upload.status_code == 202, upload.text
        attached = until(lambda: _final_op(bsp, upload.json()["id"]), what="attachment commit")
        assert attached["status"] == "committed"
        until(lambda: bsp.get(f"/pods/{code}").json()["status"] == "Open", what="POD opened")
        committed(bsp, "PATCH", f"/pods/{code}/status", {"status": "UnderReview"})

        # the TSO's connector learns of the POD from the ledger, then decides
        until(lambda: tso.get(f"/pods/{code}").status_code == 200, what="TSO sees the POD")
        until(lambda: tso.get(f"/pods/{code}").json()["status"] == "UnderReview")
        committed(tso, "PATCH", f"/pods/{code}/status", {"status": "PreValidated"})
        until(
            lambda: bsp.get(f"/pods/{code}").json()["status"] == "PreValidated",
            what="the TSO's decision at the BSP",
        )
        until(lambda: dso.get(f"/pods/{code}").json().get("status") == "PreValidated")
        committed(
            dso, "PUT", f"/pods/{code}/constraints", {"maximumFlexUp": 90.0, "note": "feeder 12"}
        )
        validated = committed(dso, "PATCH", f"/pods/{code}/status", {"status": "Validated"})
        _on_ledger(ledger, validated)

        pod = until(
            lambda: (p := bsp.get(f"/pods/{code}").json())["status"] == "Validated" and p,
            what="the DSO's decision at the BSP",
        )
        assert pod["record"]["dsoConstraints"]["maximumFlexUp"] == 90.0
        assert [d["id"] for d in pod["devices"]] == [f"{code}-EVSE-1", f"{code}-EVSE-2"]
        [attachment] = pod["attachments"]
        content = bsp.get(f"/attachments/{attachment['id']}/content")
        assert content.status_code == 200 and content.content == PDF
        history = bsp.get(f"/pods/{code}/history").json()
        assert [h["value"]["status"] for h in history] == [
            "Registered",
            "Open",
            "UnderReview",
            "PreValidated",
            "PreValidated",
            "Validated",
        ]

        # the decisions arrived by event: on the BSP's live stream and at its webhook
        decisions = until(
            lambda: (
                [
                    e["event"]
                    for e in stream.resource_events(code)
                    if e["actor"]["mspId"] in ("TSOMSP", "ARETIMSP")
                ]
                == ["PodPreValidated", "PodConstraintsSet", "PodValidated"]
            ),
            what="TSO and DSO decisions on the BSP's live stream",
        )
        assert decisions
        until(
            lambda: len([b for b in hook.bodies() if b["event"] == "resource.changed"]) >= 3,
            what="decisions at the webhook",
        )
        for headers, body in hook.received:
            assert verify(secret, body, headers[SIGNATURE_HEADER]), "a webhook is not signed"
        completed = [b["data"] for b in hook.bodies() if b["event"] == "operation.completed"]
        assert {op["id"] for op in completed} >= {registered["id"], attached["id"]}
        assert all(op["status"] == "committed" for op in completed)
    finally:
        stream.close()
        bsp.delete("/webhook")
        hook.close()


def _final_op(client: httpx.Client, op_id: str) -> dict[str, Any] | None:
    op = client.get(f"/operations/{op_id}").json()
    return op if op["status"] in ("committed", "failed") else None


def _validated_pod(connectors: Connectors) -> str:
    bsp, tso, dso = connectors.client("bsp1"), connectors.client("tso"), connectors.client("areti")
    code = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(code))
    committed(bsp, "POST", f"/pods/{code}/attachments", diagram())
    until(lambda: bsp.get(f"/pods/{code}").json()["status"] == "Open")
    committed(bsp, "PATCH", f"/pods/{code}/status", {"status": "UnderReview"})
    until(lambda: tso.get(f"/pods/{code}").json().get("status") == "UnderReview")
    committed(tso, "PATCH", f"/pods/{code}/status", {"status": "PreValidated"})
    until(lambda: dso.get(f"/pods/{code}").json().get("status") == "PreValidated")
    committed(dso, "PATCH", f"/pods/{code}/status", {"status": "Validated"})
    until(lambda: bsp.get(f"/pods/{code}").json()["status"] == "Validated")
    return code


def test_connector_uvam_journey(connectors: Connectors, ledger: Gateway) -> None:
    bsp, tso = connectors.client("bsp1"), connectors.client("tso")
    members = [_validated_pod(connectors), _validated_pod(connectors)]
    registered = committed(bsp, "POST", "/uvams", uvam_body())
    uvam_id = registered["resourceId"]
    assert uvam_id.startswith("UVAM-") and registered["result"]["resourceGroupId"] == uvam_id
    relations = [
        committed(bsp, "POST", f"/uvams/{uvam_id}/resources", {"resource": code})["resourceId"]
        for code in members
    ]
    committed(bsp, "POST", f"/uvams/{uvam_id}/attachments", diagram())
    committed(bsp, "POST", f"/uvams/{uvam_id}/connection", connection_body())
    until(lambda: bsp.get(f"/uvams/{uvam_id}").json()["status"] == "Open", what="UVAM opened")
    committed(bsp, "PATCH", f"/uvams/{uvam_id}", {"perimeter": "Roma Sud"})
    committed(bsp, "PATCH", f"/uvams/{uvam_id}/status", {"status": "UnderReview"})

    until(
        lambda: tso.get(f"/uvams/{uvam_id}").json().get("status") == "UnderReview",
        what="TSO sees the UVAM under review",
    )
    qualified = committed(tso, "PATCH", f"/uvams/{uvam_id}/status", {"status": "Qualified"})
    assert qualified["result"]["qualification"]["belowMarketMinimum"] is True
    _on_ledger(ledger, qualified)
    uvam = until(
        lambda: (u := bsp.get(f"/uvams/{uvam_id}").json())["status"] == "Qualified" and u,
        what="the TSO's qualification at the BSP",
    )
    assert sorted(r["id"] for r in uvam["relations"]) == sorted(relations)
    assert uvam["connection"]["record"]["manufacturer"] == "ABB"
    assert uvam["record"]["perimeter"] == "Roma Sud"

    ended = committed(bsp, "PATCH", f"/relations/{relations[0]}", {})
    assert ended["result"]["status"] == "Ended"
    until(lambda: bsp.get(f"/relations/{relations[0]}").json()["status"] == "Ended")
    history = bsp.get(f"/uvams/{uvam_id}/history").json()
    assert history[-1]["value"]["status"] == "Qualified"
    assert uvam["record"]["flexibilityServiceProviderId"] == BSP1_EIC


def test_connector_participants_admitted_by_network_up(connectors: Connectors) -> None:
    listed = until(lambda: len(connectors.client("tso").get("/participants").json()) >= 6)
    assert listed
    by_channel = {}
    for p in connectors.client("tso").get("/participants").json():
        by_channel.setdefault(p["channel"], set()).add(p["id"])
    assert by_channel["bsp1-channel"] >= {"TSOMSP", "BSP1MSP", "ARETIMSP"}
    assert by_channel["bsp2-channel"] >= {"TSOMSP", "BSP2MSP", "ARETIMSP"}


def test_connector_auditor_reads_the_same_history(connectors: Connectors) -> None:
    """The regulator's read-only connector shows a POD's versions as the ledger holds them,
    walked from the blocks (the channels let it read blocks, not query chaincode)."""
    bsp, auditor = connectors.client("bsp1"), connectors.client("regulator", "viewer")
    code = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(code))
    committed(bsp, "POST", f"/pods/{code}/attachments", diagram())
    until(lambda: auditor.get(f"/pods/{code}").status_code == 200, what="the auditor's copy")
    until(lambda: auditor.get(f"/pods/{code}").json()["status"] == "Open")
    theirs = bsp.get(f"/pods/{code}/history").json()
    mine = auditor.get(f"/pods/{code}/history")
    assert mine.status_code == 200, mine.text
    assert [(h["txId"], h["value"]["status"]) for h in mine.json()] == [
        (h["txId"], h["value"]["status"]) for h in theirs
    ]
    assert [h["value"]["status"] for h in theirs] == ["Registered", "Open"]
    refused = auditor.post("/pods", json=pod_body(new_pod_code()))
    assert refused.status_code == 403
