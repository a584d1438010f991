"""The market journey after registration, through the connectors' API on the running sandbox.

BSP 1 offers its qualified UVAM's 40 kW up at 180 EUR/MWh; after the gate the TSO accepts it,
sends a 30 kW set point for 10:00-10:30 ten minutes ahead, and the BSP acknowledges. The two
chargers draw 20 kW each, except 5 kW each over 10:00-10:15 and 6 kW each over 10:15-10:30:

- baseline: the step 09:30-09:45 (the last full one before the set point, sent 09:50):
  40 kW;
- response: 40 - 10 = 30 kW, then 40 - 12 = 28 kW; delivered 7.5 + 7.0 = 14.5 kWh of the
  15 kWh asked: 96.67 %, passed;
- settlement: 14.5 kWh x 0.18 EUR/kWh = 2.61 EUR; 0.5 kWh short is within the 1.5 kWh
  tolerated, so no penalty: 2.61 EUR due.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from connector_helpers import BSP1_EIC, committed, until
from connectors import Connectors
from market_helpers import (
    CHANNEL,
    DAY_END,
    Uvam,
    accepted_offer,
    activate,
    charger_minutes,
    clock,
    open_period,
    qualified_uvam,
    seen,
    series_body,
)

from connector import esmp
from gateway import EndorseError, Gateway, GatewayError, from_profile

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def uvam(connectors: Connectors) -> Uvam:
    return qualified_uvam(connectors)


@pytest.fixture(scope="module")
def ledger(connectors: Connectors) -> Iterator[Gateway]:
    with from_profile("tso", "User1", connectors.profile) as gw:
        yield gw


def test_market_journey_through_the_connectors(
    connectors: Connectors, uvam: Uvam, ledger: Gateway
) -> None:
    bsp, tso, dso = connectors.client("bsp1"), connectors.client("tso"), connectors.client("areti")
    period = open_period(connectors)

    offer_id = accepted_offer(connectors, period, uvam)
    offer = until(
        lambda: (o := bsp.get(f"/market/offers/{offer_id}").json())["status"] == "Accepted" and o,
        what="the TSO's acceptance at the BSP",
    )
    assert offer["price"]["amount"] == 180.0 and len(offer["record"]["quantities"]) == 96
    assert tso.get(f"/market/offers/{offer_id}").json()["price"]["amount"] == 180.0
    # the price is in no block: the submission's arguments and result do not hold it
    submitted = ledger.get_network(CHANNEL).get_transaction(offer["record"]["lastTxId"])
    assert b"180" not in b"".join(submitted.args)

    clock(connectors, period, "2026-04-15T09:50:00Z")
    activation_id = activate(connectors, offer_id)
    sent = seen(bsp, f"/market/activations/{activation_id}", "the activation at the BSP")
    assert sent["record"]["pods"] == [uvam.pod] and sent["record"]["leadMinutes"] == 10.0
    seen(dso, f"/market/activations/{activation_id}", "the activation at the DSO")
    committed(
        bsp, "PATCH", f"/market/activations/{activation_id}/status", {"status": "Acknowledged"}
    )

    clock(connectors, period, DAY_END)
    chargers = charger_minutes()
    aggregate = [2 * v for v in chargers]
    uploads = [
        (bsp, series_body(period, uvam, uvam.id, "aggregate", aggregate)),
        *(
            (bsp, series_body(period, uvam, d, "device", chargers, activationId=activation_id))
            for d in uvam.devices
        ),
        (dso, series_body(period, uvam, uvam.pod, "pod", [v + 3.0 for v in aggregate])),
    ]
    anchors = [committed(client, "POST", "/market/measurements", body) for client, body in uploads]
    assert {a["resourceId"] for a in anchors} == {
        f"SER-{period}-{r}" for r in (uvam.id, *uvam.devices, uvam.pod)
    }
    for org in ("tso", "bsp1"):
        seen(connectors.client(org), f"/market/measurements/SER-{period}-{uvam.id}", "anchor")

    verified = committed(tso, "POST", f"/market/activations/{activation_id}/verification")
    check = verified["result"]["verification"]
    assert check["baselineKw"] == 40.0
    assert [s["responseKw"] for s in check["steps"]] == [30.0, 28.0]
    assert (check["requestedKwh"], check["deliveredKwh"], check["ratio"]) == (15.0, 14.5, 0.9667)
    assert check["passed"] is True
    assert check["devices"] == {"maxDeviation": 0.0, "notCovering": 0, "series": 2}
    assert check["pods"]["deliveredKwh"] == 14.5
    until(
        lambda: bsp.get(f"/market/activations/{activation_id}").json()["status"] == "Verified",
        what="the verification at the BSP",
    )

    issued = committed(
        tso,
        "POST",
        "/market/statements",
        {"periodId": period, "flexibilityServiceProviderId": BSP1_EIC},
    )
    statement_id = issued["resourceId"]
    assert "totals" not in issued["result"]  # the transaction's result is in the block
    seen(bsp, f"/market/statements/{statement_id}", "the statement at the BSP")
    for client in (bsp, tso):
        statement = client.get(f"/market/statements/{statement_id}").json()["statement"]
        [line] = statement["lines"]
        assert (line["remuneration"], line["penalty"], line["amount"]) == (2.61, 0.0, 2.61)
        assert statement["totals"]["amount"] == 2.61
    refused = dso.get(f"/market/statements/{statement_id}")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "settlement statements are readable by their BSP and the TSO only"
    )
    until(
        lambda: bsp.get(f"/market/activations/{activation_id}").json()["status"] == "Settled",
        what="the activation settled at the BSP",
    )

    # the ledger keeps the statement's amounts from the DSO: the chaincode refuses it, and its
    # peer never held them
    with from_profile("areti", "User1", connectors.profile) as areti:
        contract = areti.get_network(CHANNEL).get_contract("registry")
        with pytest.raises((EndorseError, GatewayError)) as info:
            contract.evaluate_transaction("ReadStatement", statement_id)
        assert "readable by BSP 10XIT-BSP-ALFA-U and the TSO only" in str(info.value)
        with pytest.raises((EndorseError, GatewayError)):
            contract.evaluate_transaction("ReadOfferPrice", offer_id)


def test_market_series_export_reimports_equal_with_its_hash(
    connectors: Connectors, uvam: Uvam
) -> None:
    """Whatever the journey uploaded: the export is the anchored bytes, and imports unchanged."""
    bsp = connectors.client("bsp1")
    anchors = until(
        lambda: bsp.get("/market/measurements", params={"q": uvam.id}).json()["items"],
        what="an anchor of the journey",
    )
    anchor = anchors[0]
    exported = bsp.get(f"/market/measurements/{anchor['id']}/series")
    assert exported.status_code == 200
    assert exported.headers["X-Content-SHA256"] == anchor["record"]["sha256"]
    assert esmp.sha256(exported.content) == anchor["record"]["sha256"]
    assert len(exported.content) == anchor["record"]["size"]
    again = esmp.parse(exported.content)
    content, fp = esmp.fingerprint(again)
    assert content == exported.content and fp.step_energies == anchor["record"]["stepEnergies"]
    # the TSO's connector anchors it too, but holds no series: it says where to get it
    refused = connectors.client("tso").get(f"/market/measurements/{anchor['id']}/series")
    assert refused.status_code == 404 and "ask its uploader" in refused.json()["error"]["message"]
    assert json.loads(exported.content)["registeredResource.mRID"] == anchor["record"]["resource"]


def test_market_cbp_audit_series_checks_a_file_and_redoes_the_verification(
    connectors: Connectors, uvam: Uvam, tmp_path: Path
) -> None:
    """An auditor holding the exported aggregate checks it against the ledger and recomputes
    the activation's verification from it; a tampered copy fails, exit 2."""
    bsp = connectors.client("bsp1")
    [anchor] = [
        a
        for a in bsp.get("/market/measurements", params={"q": uvam.id}).json()["items"]
        if a["record"]["scope"] == "aggregate"
    ]
    [activation] = bsp.get(
        "/market/activations", params={"period": anchor["record"]["periodId"]}
    ).json()["items"]
    exported = tmp_path / "aggregate.json"
    exported.write_bytes(bsp.get(f"/market/measurements/{anchor['id']}/series").content)
    argv = [
        sys.executable,
        "-m",
        "cbp",
        "audit",
        "series",
        CHANNEL,
        anchor["id"],
        "--profile",
        str(connectors.profile),
        "--activation",
        activation["id"],
    ]
    good = subprocess.run([*argv, "--file", str(exported)], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith(f"OK: {exported} is series {anchor['id']} as anchored")
    assert "recomputed 14.5 of 15 kWh (96.67%) against a 40 kW baseline, as recorded" in (
        good.stdout
    )
    document = json.loads(exported.read_bytes())
    document["Period"]["Point"][605]["quantity"] = 40.0  # 10:05: no response at all
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document, indent=2))
    bad = subprocess.run([*argv, "--file", str(tampered)], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "sha256: ledger" in bad.stdout and "energy per step differs at steps [41]" in bad.stdout
