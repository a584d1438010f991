"""Every page of every role, checked by axe-core (no serious or critical violation), used with
the keyboard, laid out on a laptop and on a tablet; and the mass loading with its report."""

from __future__ import annotations

from pathlib import Path

from connector_helpers import committed, diagram, new_pod_code, pod_body
from dashboard import accessible, log_in, no_traceback, shot
from playwright.sync_api import expect

ARETI = "10XIT-ARETI----C"

# (org, access, path, screenshot name or None)
PAGES = [
    ("bsp1", "operator", "/ui/", None),
    ("bsp1", "operator", "/ui/pods", "bsp-pods"),
    ("bsp1", "operator", "/ui/pods?status=Registered&q=IT002", None),
    ("bsp1", "operator", "/ui/pods/new", None),
    ("bsp1", "operator", "/ui/uvams", "bsp-uvams"),
    ("bsp1", "operator", "/ui/uvams/new", None),
    ("bsp1", "operator", "/ui/operations", "bsp-operations"),
    ("bsp1", "operator", "/ui/loads", None),
    ("bsp1", "operator", "/ui/market", None),
    ("bsp1", "viewer", "/ui/pods", None),
    ("tso", "operator", "/ui/", "tso-home"),
    ("tso", "operator", "/ui/review", None),
    ("tso", "admin", "/ui/participants", "tso-participants"),
    ("tso", "operator", "/ui/explorer", "tso-explorer"),
    ("tso", "operator", "/ui/explorer/p2p-trading", None),
    ("tso", "operator", "/ui/explorer/bsp1-channel", "explorer-blocks"),
    ("areti", "operator", "/ui/", "dso-home"),
    ("areti", "operator", "/ui/pods", None),
    ("regulator", "viewer", "/ui/participants", None),
    ("regulator", "viewer", "/ui/uvams", None),
]


def test_every_page_passes_axe(web, chromium, logins, shots) -> None:
    code = new_pod_code()
    committed(web.client("bsp1"), "POST", "/pods", pod_body(code))
    committed(web.client("bsp1"), "POST", f"/pods/{code}/attachments", diagram())
    users = {}
    for org, access, path, name in PAGES:
        user = users.get((org, access)) or log_in(chromium, web, logins, org, access)
        users[(org, access)] = user
        page = user.go(path)
        assert page.url.startswith(user.base + path.split("?")[0]), page.url
        no_traceback(page)
        accessible(page)
        if name:
            shot(page, shots, name)
    # the rest of the explorer: a block with transactions, one transaction
    tso = users[("tso", "operator")]
    page = tso.go(f"/ui/pods/{code}")
    page.click("a[href*='/tx/']")
    expect(page.locator("#rwset")).to_be_visible()
    accessible(page)
    page.click("a[href*='/blocks/']")
    expect(page.locator("h1")).to_contain_text("Block")
    accessible(page)
    shot(page, shots, "explorer-block")
    page = users[("bsp1", "viewer")].go(f"/ui/pods/{code}")  # read-only user: no forms
    expect(page.locator("form[method=post]:not([action='/ui/logout'])")).to_have_count(0)
    login = chromium.new_page()
    login.goto(web.urls["bsp1"] + "/ui/login")
    accessible(login)
    shot(login, shots, "login")
    login.close()
    for user in users.values():
        user.context.close()


def test_keyboard_only_registration(web, chromium, logins) -> None:
    """Log in and reach the registration form with the keyboard alone; the skip link first."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(web.urls["bsp1"] + "/ui/login")
    # the user name has the focus (autofocus): wait for it, or the first keys can land before
    # the page gives it, on a machine busy with other tests
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type("bsp1-operator")
    page.keyboard.press("Tab")
    page.keyboard.type(logins["bsp1-operator"])
    page.keyboard.press("Enter")
    page.wait_for_url(web.urls["bsp1"] + "/ui/")
    page.keyboard.press("Tab")  # on every page, the skip link comes first
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to the content"
    for _ in range(30):  # tab through the menu to Resources, then open it
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('href')") == "/ui/pods":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(web.urls["bsp1"] + "/ui/pods")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('href')") == "/ui/pods/new":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(web.urls["bsp1"] + "/ui/pods/new")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "f-meteringPointId":
            break
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline == ["solid", "3px"], outline  # where the keyboard is, is visible
    context.close()


def test_tablet_layout(web, chromium, logins, shots) -> None:
    user = log_in(chromium, web, logins, "bsp1", "operator")
    user.page.set_viewport_size({"width": 768, "height": 1024})
    page = user.go("/ui/pods")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 768, f"the page is {width} px wide on a 768 px tablet"
    menu = page.locator("nav.side").bounding_box()
    main = page.locator("main").bounding_box()
    assert menu and main and menu["y"] + menu["height"] <= main["y"] + 1  # the menu on top
    accessible(page)
    shot(page, shots, "tablet-pods")
    user.context.close()


def test_mass_loading_report_per_row(web, chromium, logins, shots, tmp_path: Path) -> None:
    good, bad = new_pod_code(), new_pod_code()
    header = (
        "meteringPointId,resourceName,direction,contractedPower,maximumFlexUp,maximumFlexDown,"
        "gridVoltageLevel,distributionGridOperatorName,startDateTime,resourceId,deviceType,"
        "parentResourceId"
    )
    rows = [
        f"{good},Depot Tiburtina,consumption,300,200,150,MV,{ARETI},2026-03-01,,,",
        f"{bad},Broken row,consumption,300,400,150,MV,{ARETI},2026-03-01,,,",
        f",Charger A,consumption,22,22,22,,,2026-03-01,{good}-EVSE-1,EVSE,{good}",
    ]
    sheet = tmp_path / "pods.csv"
    sheet.write_text("\n".join([header, *rows]) + "\n")
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    page = bsp.go("/ui/loads")
    page.set_input_files("#load-file", str(sheet))
    page.click("form[action='/ui/loads'] button[type=submit]")
    page.wait_for_url(f"{bsp.base}/ui/loads/*")
    report = page.locator("#load-report")
    expect(report.locator("tbody tr")).to_have_count(3)
    bad_row = report.locator("tbody tr").nth(1)
    expect(bad_row).to_contain_text("invalid")
    expect(bad_row).to_contain_text("maximumFlexUp 400 kW exceeds contractedPower 300 kW")
    # the good rows commit and the page follows them live
    expect(report.locator("tbody tr").nth(0)).to_contain_text("committed", timeout=30_000)
    expect(report.locator("tbody tr").nth(2)).to_contain_text("committed", timeout=30_000)
    expect(report).to_contain_text("done")
    accessible(page)
    shot(page, shots, "bsp-mass-loading-report")
    bsp.context.close()
