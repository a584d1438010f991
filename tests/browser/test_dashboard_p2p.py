"""The P2P market in two browsers: the infrastructure operator sets the market's parameters; an
EV user declares a buying and a selling EV and sees each one's role and energy (eq. 1-3), types
a trade whose rules and cost (eq. 4-5) are shown as typed, submits it and watches it, without a
reload, become confirmed when the operator confirms it in a batch from the pending
transactions (the seed's figures 6-7); a second trade rejected with a reason gives its energy
back. Refusals (a confirmation with nothing ticked, more delivered than agreed, a rejection
without a reason) are shown on the page, with the ledger unchanged. A trade arriving while the
operator prepares a batch keeps the operator's ticks. A trade's history is walked back through
the blocks; a viewer reads but is offered no write. Every page passes axe-core.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from dashboard import accessible, log_in, mark_unreloaded, no_traceback, shot, was_not_reloaded
from playwright.sync_api import expect

from gateway import from_profile

LIVE = 20_000  # ms a ledger change may take to reach another connector's page
PARAMS = {"buyThresholdPct": "70", "sellThresholdPct": "75", "priceEurPerKwh": "0.15"}


def _declare(page: Any, ev_id: str, capacity: str, soc: str) -> None:
    page.fill("#f-evId", ev_id)
    page.fill("#f-batteryCapacityKwh", capacity)
    page.fill("#f-socPct", soc)
    page.click("form[action='/ui/p2p/evs/new'] button[type=submit]")
    page.wait_for_url(re.compile(rf"/ui/p2p/evs/{ev_id}\?op="))
    expect(page.locator(".notice.good")).to_contain_text("committed in block")


def _trade_form(page: Any, buyer: str, seller: str, amount: str) -> None:
    page.select_option("#f-buyerId", buyer)
    page.select_option("#f-sellerId", seller)
    page.fill("#f-amountKwh", amount)
    page.locator("#f-tradeId").focus()  # leaving the field asks the connector for its rules


def _height(web: Any) -> int:
    """The channel's height, read from the operator's peer through the gateway."""
    with from_profile("infraop", "User1", web.profile) as gateway:
        return int(gateway.get_network("p2p-trading").get_chain_info().height)


def test_p2p_market_in_two_browsers(web, chromium, logins, shots) -> None:
    run = uuid.uuid4().hex[:6]
    buyer, seller, buyer2 = f"B-{run}", f"S-{run}", f"B2-{run}"

    # the operator sets the market's parameters on its page
    infra = log_in(chromium, web, logins, "infraop", "operator")
    page = infra.page
    no_traceback(page)
    page = infra.go("/ui/p2p/parameters")
    for name, value in PARAMS.items():
        page.fill(f"#f-{name}", value)
    page.fill("#f-sellThresholdPct", "60")  # T_b above T_s: refused beside the form
    page.click("form[action='/ui/p2p/parameters'] button[type=submit]")
    expect(page.locator("[role=alert]").first).to_be_visible()
    expect(page.locator("#f-sellThresholdPct")).to_have_value("60")
    page.fill("#f-sellThresholdPct", PARAMS["sellThresholdPct"])
    page.click("form[action='/ui/p2p/parameters'] button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("committed in block")
    expect(page.locator("#params-now")).to_contain_text("0.15 EUR/kWh")
    accessible(page)
    shot(page, shots, "p2p-operator-parameters")

    # the EV user declares two EVs: a buyer (eq. 2) and a seller (eq. 3)
    ev = log_in(chromium, web, logins, "evusers", "operator")
    expect(ev.page.locator("#home-counts")).to_contain_text("0.15 EUR/kWh", timeout=LIVE)
    page = ev.go("/ui/p2p/evs/new")
    accessible(page)
    page.fill("#f-socPct", "120")
    page.locator("#f-evId").focus()
    expect(page.locator("#f-socPct-error")).not_to_be_empty()  # SoC outside 0-100, as typed
    _declare(page, buyer, "60", "40")
    expect(page.locator("#ev-role")).to_have_text("Buyer")
    expect(page.locator("#ev-head")).to_contain_text("18.000 kWh")  # (70 - 40) % x 60 kWh
    _declare(ev.go("/ui/p2p/evs/new"), seller, "100", "95")
    expect(page.locator("#ev-role")).to_have_text("Seller")
    expect(page.locator("#ev-head")).to_contain_text("20.000 kWh")  # (95 - 75) % x 100 kWh
    _declare(ev.go("/ui/p2p/evs/new"), buyer2, "40", "50")

    # a new trade: eq. 4 shown as typed, the cost by eq. 5
    page = ev.go(f"/ui/p2p/trades/new?buyer={buyer}")
    _trade_form(page, buyer, seller, "19")
    expect(page.locator("#f-amountKwh-error")).to_contain_text(
        f"19.000 kWh exceeds buyer EV {buyer}'s remaining need of 18.000 kWh"
    )
    expect(page.locator("#f-amountKwh")).to_have_attribute("aria-invalid", "true")
    page.fill("#f-amountKwh", "18.0")
    page.locator("#f-tradeId").focus()
    expect(page.locator("#f-amountKwh-error")).to_have_text("")
    expect(page.locator("#f-amountKwh-note")).to_have_text(
        "18.000 kWh × 0.15 EUR/kWh = 2.70 EUR (eq. 5)"
    )
    page.fill("#f-tradeId", f"T1-{run}")
    accessible(page)
    shot(page, shots, "p2p-ev-user-new-trade")
    page.click("form[action='/ui/p2p/trades/new'] button[type=submit]")
    page.wait_for_url(re.compile(rf"/ui/p2p/trades/T1-{run}\?op="))
    expect(page.locator("#trade-status")).to_have_text("Pending")
    expect(page.locator("#trade-head")).to_contain_text("2.70 EUR")
    accessible(page)
    mark_unreloaded(page)
    watching = page

    # a second trade, which the operator will reject
    page = ev.context.new_page()
    page.goto(ev.url("/ui/p2p/trades/new"))
    _trade_form(page, buyer2, seller, "1")
    page.fill("#f-tradeId", f"T2-{run}")
    page.click("form[action='/ui/p2p/trades/new'] button[type=submit]")
    page.wait_for_url(re.compile(rf"/ui/p2p/trades/T2-{run}\?op="))
    expect(page.locator("#trade-status")).to_have_text("Pending")

    # the operator's pending transactions (figure 6): both trades, arrived by the ledger's events
    page = infra.go(f"/ui/p2p/trades?status=Pending&q={run}")
    rows = page.locator("#trade-rows tbody tr")
    expect(rows).to_have_count(2, timeout=LIVE)
    accessible(page)
    shot(page, shots, "p2p-operator-pending")

    # a trade arriving while the operator prepares a batch: the list grows live, and what the
    # operator ticked and typed stays
    page.check(f"input[name=trade][value='T1-{run}']")
    page.fill(f"input[name='delivered:T1-{run}']", "17.5")
    page.locator("#batch-id").focus()
    mark_unreloaded(page)
    body = {"tradeId": f"T3-{run}", "buyerId": buyer2, "sellerId": seller, "amountKwh": "1"}
    reply = web.client("evusers").post("/p2p/trades", json=body, headers={"Prefer": "wait=10"})
    assert reply.status_code == 200 and reply.json()["status"] == "committed", reply.text
    expect(rows).to_have_count(3, timeout=LIVE)
    expect(page.locator(f"input[name=trade][value='T1-{run}']")).to_be_checked()
    expect(page.locator(f"input[name='delivered:T1-{run}']")).to_have_value("17.5")
    assert was_not_reloaded(page)
    page.uncheck(f"input[name=trade][value='T1-{run}']")

    # refusals: nothing ticked; more delivered than agreed (the ledger's rule); state unchanged
    before = _height(web)
    page.click("#confirm-form button.primary")
    expect(page.locator("[role=alert]").first).to_contain_text("tick the trades to confirm")
    page.check(f"input[name=trade][value='T1-{run}']")
    page.fill(f"input[name='delivered:T1-{run}']", "25")
    page.click("#confirm-form button.primary")
    expect(page.locator("main")).to_contain_text(
        f"trade T1-{run}: delivered 25.000 kWh exceeds the agreed", timeout=LIVE
    )
    no_traceback(page)
    assert web.client("infraop").get(f"/p2p/trades/T1-{run}").json()["status"] == "Pending"

    # confirm T1 in one batch with the energy agreed
    page = infra.go(f"/ui/p2p/trades?status=Pending&q=T1-{run}")
    page.check(f"input[name=trade][value='T1-{run}']")
    page.fill("#batch-id", f"BATCH-{run}")
    page.click("#confirm-form button.primary")
    page.wait_for_url(re.compile(rf"/ui/p2p/batches/BATCH-{run}\?op="))
    expect(page.locator(".notice.good")).to_contain_text("committed in block")
    expect(page.locator("#batch-head")).to_contain_text("2.70 EUR")
    expect(page.locator("#batch-trades-list")).to_contain_text(f"T1-{run}")
    accessible(page)
    shot(page, shots, "p2p-operator-batch")
    assert _height(web) > before

    # ... the EV user's trade page turns Confirmed without a reload
    expect(watching.locator("#trade-status")).to_have_text("Confirmed", timeout=LIVE)
    expect(watching.locator("#trade-head")).to_contain_text(f"BATCH-{run}")
    expect(watching.locator("#trade-next")).to_contain_text("final")
    assert was_not_reloaded(watching)

    # the operator rejects T2: first without a reason (refused), then with one
    page = infra.go(f"/ui/p2p/trades/T2-{run}")
    accessible(page)
    height = _height(web)
    page.evaluate("() => document.getElementById('reason').removeAttribute('required')")
    page.click("button:has-text('Reject the trade')")
    expect(page.locator("[role=alert]").first).to_contain_text("reason")
    assert _height(web) == height
    page.fill("#reason", "charger 4 out of order")
    page.click("button:has-text('Reject the trade')")
    expect(page.locator(".notice.good")).to_contain_text("committed in block")
    expect(page.locator("#trade-status")).to_have_text("Rejected")
    expect(page.locator("#trade-head")).to_contain_text("charger 4 out of order")

    # the confirmed transactions (figure 7), on the operator's and on the EV user's connector
    page = infra.go(f"/ui/p2p/trades?status=Confirmed&q={run}")
    expect(page.locator("#trade-rows tbody tr")).to_have_count(1)
    expect(page.locator("#trade-rows")).to_contain_text("18.000")
    accessible(page)
    shot(page, shots, "p2p-operator-confirmed")
    page = ev.go(f"/ui/p2p/trades?status=Confirmed&q={run}")
    expect(page.locator("#trade-rows tbody tr")).to_have_count(1, timeout=LIVE)
    accessible(page)

    # the seller's balance and energy: 18 kWh sold for 2.70 EUR, 1 kWh held by T3 (pending),
    # T2's 1 kWh given back: 20 - 18 - 1 left
    page = ev.go(f"/ui/p2p/evs/{seller}")
    expect(page.locator("#ev-balance")).to_contain_text("18.000 kWh for 2.70 EUR", timeout=LIVE)
    expect(page.locator("#ev-balance")).to_contain_text("0.000 kWh bought, 1.000 kWh sold")
    expect(page.locator("#ev-balance")).to_contain_text("1 confirmed, 1 pending, 1 rejected")
    expect(page.locator("#ev-remaining")).to_have_text("1.000 kWh")
    accessible(page)
    shot(page, shots, "p2p-ev-user-ev")
    page = ev.go("/ui/")
    accessible(page)
    shot(page, shots, "p2p-ev-user-home")
    page = ev.go("/ui/p2p/evs?mine=true")
    accessible(page)
    page = infra.go("/ui/")
    accessible(page)
    shot(page, shots, "p2p-operator-home")

    # a trade's history, walked back through the blocks from its last transaction
    page = infra.go(f"/ui/history/trade/T1-{run}")
    versions = page.locator("ol.timeline > li")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("Confirmed")
    expect(versions.last).to_contain_text("Pending")
    expect(page.locator("ol.timeline")).to_contain_text("InfraOpMSP")
    accessible(page)
    # the rest of the operator's pages
    for path in ("/ui/p2p/trades?status=Rejected", "/ui/p2p/evs", "/ui/p2p/evs/new"):
        page = infra.go(path)
        no_traceback(page)
        accessible(page)
    expect(page.locator("#f-owner")).to_be_visible()  # the operator declares for an EV user
    # a viewer of the EV users reads the market but is offered no write
    viewer = log_in(chromium, web, logins, "evusers", "viewer")
    page = viewer.go(f"/ui/p2p/trades/T3-{run}")
    expect(page.locator("#trade-status")).to_have_text("Pending")
    expect(page.locator("form[method=post]:not([action='/ui/logout'])")).to_have_count(0)
    expect(page.locator("nav a[href='/ui/p2p/trades/new']")).to_have_count(0)
    assert viewer.page.goto(viewer.url("/ui/p2p/trades/new")).status == 403
    viewer.context.close()
    for user in (infra, ev):
        user.context.close()
