"""The POD journey in the browser: a BSP registers a POD with a flex device and an attachment
and sends it for validation; the TSO, then the DSO, each in a browser of their own, decide; the
BSP's page shows each decision arrive without a reload; the history and the explorer show the
block of every step; every page passes axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from connector_helpers import PDF, new_pod_code, pod_body
from dashboard import accessible, log_in, mark_unreloaded, no_traceback, shot, was_not_reloaded
from playwright.sync_api import expect

LIVE = 20_000  # ms a decision may take to reach the BSP's page (ledger event, then refresh)


def _register(page: Any, code: str) -> None:
    page.fill("#f-meteringPointId", code)
    page.fill("#f-resourceName", "Parking Ostiense")
    page.fill("#f-locationId", "Rome, Via Ostiense 131")
    page.select_option("#f-direction", "consumption")
    page.fill("#f-contractedPower", "200")
    page.fill("#f-maximumFlexDown", "100")
    page.fill("#f-startDateTime", "2026-03-01")


def test_pod_journey_in_three_browsers(web, chromium, logins, shots, tmp_path: Path) -> None:
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    accessible(bsp.page)
    shot(bsp.page, shots, "bsp-home")

    # the form: a rule broken as the user types is shown beside its field, in the API's words
    page = bsp.go("/ui/pods/new")
    code = new_pod_code()
    _register(page, code)
    page.fill("#f-maximumFlexUp", "300")
    page.locator("#f-maximumFlexDown").focus()
    rule = page.locator("#f-maximumFlexUp-error")
    expect(rule).to_have_text("maximumFlexUp 300 kW exceeds contractedPower 200 kW")
    api = web.client("bsp1").post("/pods", json=pod_body(code, maximumFlexUp=300.0))
    assert api.status_code == 422
    assert [f["rule"] for f in api.json()["error"]["fields"]] == [rule.inner_text()]
    expect(page.locator("#f-maximumFlexUp")).to_have_attribute("aria-invalid", "true")
    accessible(page)
    shot(page, shots, "bsp-pod-form")
    page.fill("#f-maximumFlexUp", "120")
    expect(rule).to_have_text("")
    page.click("form[action='/ui/pods/new'] button[type=submit]")
    page.wait_for_url(re.compile(rf"/ui/pods/{code}\?op="))
    expect(page.locator(".notice.good")).to_contain_text("committed in block")
    expect(page.locator("#pod-status")).to_have_text("Registered")

    # a flex device behind the POD
    page.fill("#f-resourceId", f"{code}-EVSE-1")
    page.fill("#pod-devices #f-resourceName", "Charger 1")
    page.fill("#pod-devices #f-contractedPower", "22")
    page.fill("#pod-devices #f-maximumFlexUp", "22")
    page.fill("#pod-devices #f-maximumFlexDown", "22")
    page.fill("#pod-devices #f-startDateTime", "2026-03-01")
    page.click("#pod-devices button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("Register Flex Resource")
    expect(page.locator("#pod-devices tbody")).to_contain_text(f"{code}-EVSE-1")

    # an attachment: its first one opens the POD
    diagram = tmp_path / "single-line-diagram.pdf"
    diagram.write_bytes(PDF)
    page.set_input_files("#att-file", str(diagram))
    page.click("#pod-attachments button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("Create Attachment")
    expect(page.locator("#pod-attachments tbody")).to_contain_text("single-line-diagram.pdf")
    expect(page.locator("#pod-status")).to_have_text("Open")
    accessible(page)

    # while Open, its data can be corrected: the form shows the ledger's values, checks the
    # rules as the user types, and sends only what changed
    page.click("text=Edit the POD's data")
    expect(page.locator("#f-resourceName")).to_have_value("Parking Ostiense")
    expect(page.locator("#f-startDateTime")).to_have_value("2026-03-01")
    page.fill("#f-maximumFlexDown", "250")
    page.locator("#f-resourceName").focus()
    expect(page.locator("#f-maximumFlexDown-error")).to_have_text(
        "maximumFlexDown 250 kW exceeds contractedPower 200 kW"
    )
    page.fill("#f-maximumFlexDown", "100")
    page.fill("#f-resourceName", "Parking Ostiense Nord")
    accessible(page)
    shot(page, shots, "bsp-pod-edit")
    page.click("form[action$='/edit'] button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("Update Resource Information")
    expect(page.locator("#pod-head h1")).to_contain_text("Parking Ostiense Nord")
    expect(page.locator("#pod-status")).to_have_text("Open")
    record = web.client("bsp1").get(f"/pods/{code}").json()["record"]
    assert record["resourceName"] == "Parking Ostiense Nord"
    assert record["startDateTime"] == "2026-03-01T00:00:00Z"  # shown as a date, kept as it was

    page.click("text=Send for validation")
    expect(page.locator(".notice.good")).to_contain_text("Update Resource Status")
    expect(page.locator("#pod-status")).to_have_text("UnderReview")
    shot(page, shots, "bsp-pod-detail")
    mark_unreloaded(page)

    # the TSO, in a browser of its own: the review queue, then the POD
    tso = log_in(chromium, web, logins, "tso", "operator")
    queue = tso.go("/ui/review")
    accessible(queue)
    shot(queue, shots, "tso-review-queue")
    queue.click(f"a[href='/ui/pods/{code}']")
    accessible(queue)
    # the single-line diagram, kept by the BSP's connector, opens from the TSO's, linked
    # beside the decision so the reviewer reads it before deciding
    expect(queue.locator(".before-deciding")).to_contain_text("SingleLineDiagram")
    shot(queue, shots, "tso-pod-decision")
    with queue.expect_download() as download:
        queue.click(".before-deciding a:has-text('single-line-diagram.pdf')")
    assert Path(download.value.path()).read_bytes() == PDF
    queue.click("button:has-text('Pre-validate')")
    expect(queue.locator(".notice.good")).to_contain_text("committed in block")
    expect(queue.locator("#pod-status")).to_have_text("PreValidated")

    # ... arrives on the BSP's page, which was not reloaded
    expect(page.locator("#pod-status")).to_have_text("PreValidated", timeout=LIVE)
    assert was_not_reloaded(page)
    expect(page.locator("#announcer")).to_contain_text("PreValidated")

    # the DSO analyses the PODs of its grid, sets a constraint and validates
    dso = log_in(chromium, web, logins, "areti", "operator")
    waiting = dso.go("/ui/review")
    accessible(waiting)
    shot(waiting, shots, "dso-awaiting-analysis")
    waiting.click(f"a[href='/ui/pods/{code}']")
    expect(waiting.locator(".before-deciding")).to_contain_text("single-line-diagram.pdf")
    waiting.fill("#f-constraints-maximumFlexUp", "90")
    waiting.fill("#f-constraints-note", "feeder 12 limit")
    accessible(waiting)
    shot(waiting, shots, "dso-pod-decision")
    waiting.click("button:has-text('Validate')")
    expect(waiting.locator(".notice.good")).to_contain_text("committed in block")
    expect(waiting.locator("#pod-status")).to_have_text("Validated")

    expect(page.locator("#pod-status")).to_have_text("Validated", timeout=LIVE)
    expect(page.locator("#pod-details")).to_contain_text("feeder 12 limit", timeout=LIVE)
    assert was_not_reloaded(page)

    # the history: every step a version, with its actor, transaction and block
    history = bsp.go(f"/ui/history/pod/{code}")
    versions = history.locator("ol.timeline > li")
    statuses = [v.locator(".badge").first.inner_text() for v in versions.all()]
    assert statuses[0] == "Validated" and statuses[-1] == "Registered", statuses
    for wanted in ("UnderReview", "PreValidated", "Open"):
        assert wanted in statuses, statuses
    expect(history.locator("ol.timeline")).to_contain_text("TSOMSP")
    expect(history.locator("ol.timeline")).to_contain_text("ARETIMSP")
    accessible(history)
    shot(history, shots, "bsp-pod-history")
    steps = [
        (a.get_attribute("href"), b.get_attribute("href"))
        for a, b in zip(
            history.locator("ol.timeline .where a[href*='/tx/']").all(),
            history.locator("ol.timeline .where a[href*='/blocks/']").all(),
            strict=True,
        )
    ]
    assert len(steps) == len(statuses)

    # the explorer shows the block of each step, with that transaction in it
    for tx_href, block_href in steps:
        tx_id = tx_href.rsplit("/", 1)[1]
        block = bsp.go(block_href)
        row = block.locator(f"a[href$='/tx/{tx_id}']")
        expect(row).to_have_count(1)
        expect(block.locator("tbody tr", has=row)).to_contain_text("VALID")
        no_traceback(block)
    accessible(block)

    # the changes between the first and the last version
    compared = bsp.go(f"/ui/history/pod/{code}?a=1&b={len(statuses)}")
    expect(compared.locator("#compare ~ table, section table.diff").first).to_contain_text("status")
    for user in (bsp, tso, dso):
        user.context.close()
