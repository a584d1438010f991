"""The market journey in the browsers of the TSO, BSP 1, Areti (the DSO) and the auditor.

The TSO opens a period on a demo clock; BSP 1 offers its qualified UVAM up, 20 kW at night
and 40 kW from 08:00 to 20:00 (a profile pasted step by step), at 180 EUR/MWh; the TSO's
acceptance before the gate is refused in the ledger's words; after
the gate the TSO accepts and sends a 30 kW set point for 10:00-10:30; the
BSP acknowledges; after the day the BSP uploads its aggregate and chargers' series and the DSO
its POD's; the TSO verifies (14.5 of 15 kWh, 96.67 %: passed, which the BSP's page shows
without a reload) and issues the statement: 2.61 EUR due, shown to the BSP and the TSO and
refused to the DSO and the auditor. The numbers are worked out in the sandbox tier's
test_market_journey.py; each page visited passes axe-core.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

from connector_helpers import BSP1_EIC
from dashboard import User, accessible, log_in, mark_unreloaded, no_traceback, shot
from dashboard import was_not_reloaded as not_reloaded
from market_helpers import (
    CHANNEL,
    DAY,
    DAY_END,
    DAY_START,
    GATE,
    Uvam,
    charger_minutes,
    qualified_uvam,
    seen,
)
from playwright.sync_api import expect

from connector import esmp

LIVE = 20_000


def series_file(folder: Path, period: str, resource: str, values: list[float]) -> Path:
    """An ESMP series of one day at 60 s, as a meter data system would hand it over."""
    series = esmp.build(f"{period}-{resource}", resource, DAY, "PT1M", values)
    path = folder / f"{resource}.json"
    path.write_text(json.dumps(json.loads(esmp.canonical(series)), indent=2))
    return path


def move_clock(tso: User, period_url: str, time: str, shown: str) -> None:
    page = tso.go(period_url)
    page.fill("#clock-form #f-demoTime", time)
    page.click("#clock-form button[type=submit]")
    expect(page.locator("#market-time")).to_contain_text(shown)


def upload(page: Any, resource: str, path: Path) -> None:
    page.select_option("#series-resource", resource)
    page.set_input_files("#series-file", str(path))
    page.click("#series-form button[type=submit]")
    expect(page.locator("#activation-series tbody")).to_contain_text(resource)


def test_market_journey_across_roles(web, chromium, logins, shots, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uvam: Uvam = qualified_uvam(web)
    period = f"MP-UI-{uuid.uuid4().hex[:8]}"
    period_url = f"/ui/market/periods/{period}?channel={CHANNEL}"
    checked: set[str] = set()

    # -- the TSO opens the period: a rule broken, then the period open --------------------------
    tso = log_in(chromium, web, logins, "tso", "operator")
    page = tso.go("/ui/market")
    accessible(page, checked)
    page.select_option("#f-channel", CHANNEL)
    page.fill("#f-periodId", period)
    page.fill("#f-deliveryStart", DAY_START)
    page.fill("#f-deliveryEnd", DAY_END)
    page.fill("#f-gateClosure", "2026-04-15T06:00:00Z")
    page.select_option("#f-clock", "demo")
    page.fill("#f-demoTime", "2026-04-14T10:00:00Z")
    page.click("#market-open button[type=submit]")
    expect(page.locator("#f-gateClosure-error")).to_contain_text(
        "gateClosure must not be after deliveryStart"
    )
    page.fill("#f-gateClosure", GATE)
    page.click("#market-open button[type=submit]")
    page.wait_for_url(re.compile(rf"/ui/market/periods/{period}\?channel={CHANNEL}&op="))
    expect(page.locator("#period-status")).to_have_text("Open")
    expect(page.locator("#gate-state")).to_have_text("open")
    accessible(page, checked)

    # -- BSP 1 offers: a negative price refused beside its field, then the offer ----------------
    seen(web.client("bsp1"), f"/market/periods/{period}", "the period at BSP 1")
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    page = bsp.go(period_url)
    page.select_option("#f-resourceGroupId", uvam.id)
    page.select_option("#f-direction", "A01")
    page.fill("#f-quantity", "40")
    page.fill("#f-price-amount", "-5")
    page.click("#offer-form button[type=submit]")
    expect(page.locator("#f-price-amount-error")).to_contain_text("greater than or equal to 0")
    accessible(page, checked)
    page.fill("#f-price-amount", "180")
    # a profile pasted step by step instead; a typo in it is refused in place
    page.fill("#f-quantity", "")
    page.fill("#f-quantities", "40 40 4O")
    page.click("#offer-form button[type=submit]")
    expect(page.locator("#f-quantities-error")).to_contain_text(
        "step 3: '4O' is not a number of kW"
    )
    expect(page.locator("#f-quantities")).to_have_value("40 40 4O")
    shot(page, shots, "bsp-market-offer-form")
    # 20 kW through the night, 40 kW from 08:00 to 20:00: pasted a line an hour
    hours = ["20, 20, 20, 20"] * 8 + ["40, 40, 40, 40"] * 12 + ["20, 20, 20, 20"] * 4
    page.fill("#f-quantities", "\n".join(hours))
    page.click("#offer-form button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/market/offers/[^?]+\?channel=.*&op="))
    offer_id = page.url.split("/ui/market/offers/")[1].split("?")[0]
    expect(page.locator("#offer-status")).to_have_text("Submitted")
    expect(page.locator("#offer-price")).to_have_text("180.0 EUR/MWh")
    expect(page.locator("#offer-steps")).to_have_text("20 to 40 kW over 96 steps")
    # the profile drawn: a bar a step, each titled with its time and kW
    expect(page.locator(".profile rect")).to_have_count(96)
    expect(page.locator(".profile rect").nth(32).locator("title")).to_have_text(
        "step 33 · 08:00 UTC: 40 kW"
    )
    expect(page.locator(".notice.good")).to_contain_text("committed in")
    accessible(page, checked)
    shot(page, shots, "bsp-market-offer")

    # -- the TSO: accepting before the gate is the ledger's refusal, shown in its words --------
    seen(web.client("tso"), f"/market/offers/{offer_id}", "the offer at the TSO")
    page = tso.go(f"/ui/market/offers/{offer_id}?channel={CHANNEL}")
    page.click("button:has-text('Accept the offer')")
    expect(page.locator(".notice.bad")).to_contain_text(
        f"offers of market period {period} are decided after its gate closes"
    )
    expect(page.locator("#offer-status")).to_have_text("Submitted")
    no_traceback(page)

    # -- the gate passes, the offer accepted, a set point sent 10 minutes ahead ----------------
    move_clock(tso, period_url, GATE, "2026-04-14 12:00:00 UTC")
    expect(tso.page.locator("#gate-state")).to_have_text("closed")
    page = tso.go("/ui/market")
    page.click(f"#market-waiting a:has-text('{offer_id}')")
    expect(page.locator("#offer-price")).to_have_text("180.0 EUR/MWh")
    accessible(page, checked)
    page.click("button:has-text('Accept the offer')")
    expect(page.locator("#offer-status")).to_have_text("Accepted")
    move_clock(tso, period_url, "2026-04-15T09:50:00Z", "2026-04-15 09:50:00 UTC")
    page = tso.go(f"/ui/market/offers/{offer_id}?channel={CHANNEL}")
    page.fill("#f-start", "2026-04-15T10:00:00Z")
    page.fill("#f-durationMinutes", "30")
    page.fill("#f-power", "30")
    page.click("#activation-form button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/market/activations/[^?]+\?channel=.*&op="))
    activation_id = page.url.split("/ui/market/activations/")[1].split("?")[0]
    expect(page.locator("#activation-status")).to_have_text("Sent")
    accessible(page, checked)
    activation_url = f"/ui/market/activations/{activation_id}?channel={CHANNEL}"

    # -- BSP 1 acknowledges; its page stays open to see the verification arrive ----------------
    seen(web.client("bsp1"), f"/market/activations/{activation_id}", "the activation at BSP 1")
    page = bsp.go("/ui/market")
    expect(page.locator("#market-activations")).to_contain_text(activation_id)
    accessible(page, checked)
    page = bsp.go(activation_url)
    page.click("button:has-text('Acknowledge the activation')")
    expect(page.locator("#activation-status")).to_have_text("Acknowledged")
    move_clock(tso, period_url, DAY_END, "2026-04-16 00:00:00 UTC")

    # -- measurements: the BSP's aggregate and chargers, the DSO's POD --------------------------
    page = bsp.go(activation_url)
    not_json = tmp_path / "readings.csv"
    not_json.write_text("time,kW\n10:00,5\n")
    page.set_input_files("#series-file", str(not_json))
    expect(page.locator("#series-file-error")).to_have_text(
        "the file is not a JSON measurement series (an ESMP TimeSeries, as the connector "
        "exports it)"
    )
    chargers = charger_minutes()
    aggregate = [2 * v for v in chargers]
    upload(page, uvam.id, series_file(tmp_path, period, uvam.id, aggregate))
    for device in uvam.devices:
        upload(page, device, series_file(tmp_path, period, device, chargers))
    expect(page.locator("#activation-series tbody tr")).to_have_count(3)
    accessible(page, checked)
    shot(page, shots, "bsp-market-activation")
    # the series the BSP's connector keeps comes back as anchored: its SHA-256 the ledger's
    link = page.locator(f"#activation-series a:has-text('SER-{period}-{uvam.id}')")
    exported = bsp.context.request.get(bsp.url(str(link.get_attribute("href"))))
    assert exported.status == 200
    assert hashlib.sha256(exported.body()).hexdigest() == exported.headers["x-content-sha256"]
    assert esmp.fingerprint(esmp.parse(exported.body()))[1].step_energies[40] == 2.5
    mark_unreloaded(page)

    seen(web.client("areti"), f"/market/activations/{activation_id}", "the activation at Areti")
    dso = log_in(chromium, web, logins, "areti", "operator")
    dso_page = dso.go(activation_url)
    expect(dso_page.locator("#series-resource option")).to_have_text([f"POD {uvam.pod}"])
    upload(dso_page, uvam.pod, series_file(tmp_path, period, uvam.pod, [v + 3 for v in aggregate]))
    accessible(dso_page, checked)

    # -- the TSO verifies: computed on the ledger from the anchored energy per step -------------
    page = tso.go(activation_url)
    expect(page.locator("#activation-series tbody tr")).to_have_count(4, timeout=LIVE)
    page.click("button:has-text('Verify the activation')")
    expect(page.locator("#activation-status")).to_have_text("Verified")
    outcome = page.locator("#verification-outcome")
    expect(outcome).to_contain_text("Passed: 14.5 of 15.0 kWh delivered, 96.67 %")
    rows = page.locator("#verification-steps tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("10:00-10:15")
    expect(rows.nth(0)).to_contain_text("30 kW")
    expect(rows.nth(1)).to_contain_text("28 kW")
    expect(page.locator("#activation-verification")).to_contain_text("40 kW")
    accessible(page, checked)
    shot(page, shots, "tso-market-verification")

    # the BSP's page, never reloaded, shows the TSO's verification
    bsp_page = bsp.page
    expect(bsp_page.locator("#activation-status")).to_have_text("Verified", timeout=LIVE)
    expect(bsp_page.locator("#verification-outcome")).to_contain_text("96.67 %", timeout=LIVE)
    assert not_reloaded(bsp_page)

    # -- settlement: issued by the TSO, read by the BSP, refused to the DSO and the auditor -----
    page = tso.go(period_url)
    expect(page.locator("#period-activations")).to_contain_text("14.5 of 15.0 kWh (96.67 %)")
    accessible(page, checked)
    shot(page, shots, "tso-market-period")
    page.select_option("#f-flexibilityServiceProviderId", BSP1_EIC)
    page.click("#statement-form button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/market/statements/[^?]+\?channel=.*&op="))
    statement_id = page.url.split("/ui/market/statements/")[1].split("?")[0]
    expect(page.locator("#statement-amount")).to_contain_text("2.61 EUR")
    expect(page.locator("#statement-lines tbody tr")).to_have_count(1)
    expect(page.locator("#statement-lines")).to_contain_text(activation_id)
    accessible(page, checked)
    shot(page, shots, "tso-market-statement")
    statement_url = f"/ui/market/statements/{statement_id}?channel={CHANNEL}"

    seen(web.client("bsp1"), f"/market/statements/{statement_id}", "the statement at BSP 1")
    page = bsp.go(statement_url)
    expect(page.locator("#statement-amount")).to_contain_text("2.61 EUR")
    expect(page.locator("#statement-lines")).to_contain_text("180.0 EUR/MWh")
    accessible(page, checked)
    shot(page, shots, "bsp-market-statement")

    auditor = log_in(chromium, web, logins, "regulator", "viewer")
    for user in (dso, auditor):
        reply = user.page.goto(user.url(statement_url))
        assert reply is not None and reply.status == 403, user.org
        expect(user.page.locator("main")).to_contain_text(
            "settlement statements are readable by their BSP and the TSO only"
        )
        assert "2.61" not in user.page.content()
        no_traceback(user.page)
        accessible(user.page)
    page = auditor.go("/ui/market")
    expect(page.locator("#market-periods")).to_contain_text(period)
    accessible(page)
    # the auditor reads the verification, and the offer without its price
    page = auditor.go(activation_url)
    expect(page.locator("#verification-outcome")).to_contain_text("96.67 %")
    expect(page.locator("form[method=post]:not([action='/ui/logout'])")).to_have_count(0)
    accessible(page)
    page = auditor.go(f"/ui/market/offers/{offer_id}?channel={CHANNEL}")
    expect(page.locator("#offer-price")).to_have_text("not readable by ARERA (energy regulator)")
    no_traceback(page)
    for user in (tso, bsp, dso, auditor):
        user.context.close()
