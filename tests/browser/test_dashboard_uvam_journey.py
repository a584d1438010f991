"""The UVAM journey in the browser: the BSP registers a UVAM, associates a validated POD's
charger, attaches a document, registers the connection and sends it for qualification; the TSO
qualifies it in its own browser; the BSP's page shows the decision arrive without a reload; a
relation is ended; the explorer shows each step's block."""

from __future__ import annotations

import re
from pathlib import Path

from connector_helpers import PDF, WAIT, charger, committed, diagram, new_pod_code, pod_body
from dashboard import accessible, log_in, mark_unreloaded, shot, was_not_reloaded
from playwright.sync_api import expect

LIVE = 20_000


def validated_pod(web) -> str:  # type: ignore[no-untyped-def]
    """A POD of BSP 1 with a charger, validated by the TSO and the DSO (through the API)."""
    bsp, tso, dso = web.client("bsp1"), web.client("tso"), web.client("areti")
    code = new_pod_code()
    committed(bsp, "POST", "/pods", pod_body(code))
    committed(bsp, "POST", f"/pods/{code}/devices", charger(code, 1))
    committed(bsp, "POST", f"/pods/{code}/attachments", diagram())
    committed(bsp, "PATCH", f"/pods/{code}/status", {"status": "UnderReview"})
    reply = tso.patch(f"/pods/{code}/status", json={"status": "PreValidated"}, headers=WAIT)
    assert reply.status_code == 200, reply.text
    reply = dso.patch(f"/pods/{code}/status", json={"status": "Validated"}, headers=WAIT)
    assert reply.status_code == 200, reply.text
    return code


def test_uvam_journey_in_two_browsers(web, chromium, logins, shots, tmp_path: Path) -> None:
    code = validated_pod(web)
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    page = bsp.go("/ui/uvams/new")
    accessible(page)
    page.fill("#f-name", "Rome EV aggregate")
    page.fill("#f-technicalFlexibilityServiceProviderId", "10YIT-GRTN-----B")
    page.fill("#f-perimeter", "Centro-Sud")
    page.fill("#f-period", "2026")
    page.fill("#f-maximumQualifiedPower", "20")
    page.fill("#f-minimumQualifiedPower", "30")
    page.fill("#f-startDateTime", "2026-04-01")
    page.locator("#f-name").focus()
    expect(
        page.locator("[data-form-errors], #f-minimumQualifiedPower-error").first
    ).to_be_attached()
    page.click("form[action='/ui/uvams/new'] button[type=submit]")
    # refused on submit as the API refuses it, the rule beside the field it names
    expect(page.locator("#f-minimumQualifiedPower-error")).to_have_text(
        "minimumQualifiedPower 30 kW exceeds maximumQualifiedPower 20 kW"
    )
    shot(page, shots, "bsp-uvam-form")
    page.fill("#f-minimumQualifiedPower", "15")
    page.click("form[action='/ui/uvams/new'] button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/uvams/UVAM-[0-9a-f]+\?op="))
    uvam_id = page.url.split("/ui/uvams/")[1].split("?")[0]
    expect(page.locator("#uvam-status")).to_have_text("Registered")

    # members: the validated POD's charger (a POD and its devices cannot both be members)
    members = page.locator("#uvam-members")
    members.get_by_label(f"{code}-EVSE-1").check()
    members.locator("button:has-text('Add the ticked resources')").click()
    expect(page.locator("#uvam-members tbody").first).to_contain_text(f"{code}-EVSE-1")
    expect(page.locator(".notice.good")).to_contain_text("Register Resource in Resource Group")

    doc = tmp_path / "aggregate.pdf"
    doc.write_bytes(PDF)
    page.set_input_files("#att-file", str(doc))
    page.click("#uvam-attachments button[type=submit]")
    expect(page.locator("#uvam-attachments tbody")).to_contain_text("aggregate.pdf")

    connection = page.locator("#uvam-connection")
    connection.locator("#f-manufacturer").fill("ABB")
    connection.locator("#f-ipAddress").fill("10.20.30.400")
    connection.locator("#f-fullScaleMin").fill("-250")
    connection.locator("#f-fullScaleMax").fill("250")
    connection.locator("#f-externalDocumentId").fill("connection.xml")
    connection.locator("#f-manufacturer").focus()
    expect(connection.locator("#f-ipAddress-error")).to_have_text(
        "ipAddress '10.20.30.400' is not an IP address"
    )
    connection.locator("#f-ipAddress").fill("10.20.30.40")
    connection.locator("button[type=submit]").click()
    expect(page.locator("#uvam-connection")).to_contain_text("10.20.30.40")
    expect(page.locator("#uvam-status")).to_have_text("Open")
    accessible(page)

    # while Open, its data can be corrected; only the changed field goes to the ledger
    page.click("text=Edit the UVAM's data")
    expect(page.locator("#f-perimeter")).to_have_value("Centro-Sud")
    page.fill("#f-perimeter", "Centro-Nord")
    page.click("form[action$='/edit'] button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("Update Resource Group")
    expect(page.locator("#uvam-status")).to_have_text("Open")
    expect(page.locator("body")).to_contain_text("Centro-Nord")
    accessible(page)

    page.click("button:has-text('Send for qualification')")
    expect(page.locator("#uvam-status")).to_have_text("UnderReview")
    shot(page, shots, "bsp-uvam-detail")
    mark_unreloaded(page)

    tso = log_in(chromium, web, logins, "tso", "operator")
    queue = tso.go("/ui/review")
    queue.click(f"a[href='/ui/uvams/{uvam_id}']")
    accessible(queue)
    queue.click("button:has-text('Qualify')")
    expect(queue.locator("#uvam-status")).to_have_text("Qualified")
    shot(queue, shots, "tso-uvam-qualified")

    expect(page.locator("#uvam-status")).to_have_text("Qualified", timeout=LIVE)
    assert was_not_reloaded(page)

    # the explorer: the UVAM's history, each version in its block
    history = bsp.go(f"/ui/history/uvam/{uvam_id}")
    statuses = [b.inner_text() for b in history.locator("ol.timeline > li .badge").all()]
    assert statuses[0] == "Qualified" and "UnderReview" in statuses and "Open" in statuses
    accessible(history)
    for link in history.locator("ol.timeline .where a[href*='/tx/']").all():
        tx_id = link.get_attribute("href").rsplit("/", 1)[1]
        tx = bsp.go(link.get_attribute("href"))
        expect(tx.locator("h1")).to_contain_text(tx_id)
        expect(tx.locator("dl.fields")).to_contain_text("VALID")
        bsp.page.go_back()

    # End Relation: the charger leaves the aggregate
    page = bsp.go(f"/ui/uvams/{uvam_id}")
    page.click(f"button:has-text('End relation of {code}-EVSE-1')")
    expect(page.locator(".notice.good")).to_contain_text("End Relation")
    expect(page.locator("#uvam-members tbody tr").first).to_contain_text("Ended")
    accessible(page)
    bsp.context.close()
    tso.context.close()
