"""What bad input gets in the browser: an upload over 5 MB or of the wrong kind refused before
it is sent, a refused action showing the ledger's reason, an expired session returning to the
log-in and then to the page, another tenant's POD never shown, and never a traceback."""

from __future__ import annotations

import re
import time
from pathlib import Path

import jwt
from connector_helpers import charger, committed, new_pod_code, pod_body
from dashboard import accessible, log_in, no_traceback, shot
from playwright.sync_api import expect


def _pod(web) -> str:  # type: ignore[no-untyped-def]
    code = new_pod_code()
    committed(web.client("bsp1"), "POST", "/pods", pod_body(code))
    return code


def test_uploads_refused_before_they_are_sent(web, chromium, logins, tmp_path: Path) -> None:
    code = _pod(web)
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    page = bsp.go(f"/ui/pods/{code}")
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)

    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024 + 1))
    page.set_input_files("#att-file", str(big))
    rule = page.locator("#att-file-error")
    expect(rule).to_have_text("the document is 5.0 MB; attachments are at most 5 MB")
    page.click("#pod-attachments button[type=submit]")
    expect(page.locator("#att-file")).to_have_attribute("aria-invalid", "true")

    image = tmp_path / "diagram.pdf"  # named .pdf, but a PNG inside: judged by content
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.set_input_files("#att-file", str(image))
    expect(rule).to_have_text(
        "the document is neither PDF nor XML (judged by its content, not its name)"
    )
    page.click("#pod-attachments button[type=submit]")
    page.wait_for_timeout(500)
    assert not [u for u in posted if "/attachments" in u], posted
    accessible(page)
    shot(page, tmp_path, "upload-refused")

    # the same file sent anyway (no script) is refused by the connector in the same words
    reply = web.client("bsp1").post(
        f"/pods/{code}/attachments/upload",
        files={"file": ("diagram.pdf", image.read_bytes(), "application/pdf")},
        data={"documentType": "SingleLineDiagram"},
    )
    assert reply.status_code == 415
    assert reply.json()["error"]["message"] == rule.inner_text()
    bsp.context.close()


def test_refused_action_shows_the_ledgers_reason(web, chromium, logins, shots) -> None:
    code = _pod(web)  # Registered: no attachment yet, so it cannot go for review
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    page = bsp.go(f"/ui/pods/{code}")
    page.click("text=Send for validation")
    notice = page.locator(".notice.bad")
    expect(notice).to_contain_text("Refused by the ledger")
    op = web.client("bsp1").get("/operations", params={"status": "failed", "limit": 5}).json()
    refusal = next(o for o in op["items"] if o["resourceId"] == code)["error"]["message"]
    assert refusal.startswith("WrongState: POD")
    expect(notice).to_contain_text(refusal)
    expect(page.locator("#pod-status")).to_have_text("Registered")
    no_traceback(page)
    accessible(page)
    shot(page, shots, "bsp-refused-by-the-ledger")
    bsp.context.close()


def test_expired_session_returns_to_login_then_to_the_page(web, chromium, logins) -> None:
    code = _pod(web)
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    page = bsp.go(f"/ui/pods/{code}?channel=bsp1-channel")
    # a token of this connector, signed with its key, that expired a minute ago
    key = (web.home / "connectors" / "bsp1" / "token.key").read_bytes()
    now = int(time.time())
    claims = {"sub": "bsp1-operator", "access": "operator", "iss": "cbp-connector:bsp1"}
    expired = jwt.encode({**claims, "iat": now - 3600, "exp": now - 60}, key, algorithm="HS256")
    bsp.context.add_cookies([{"name": "cbp_session", "value": expired, "url": bsp.base}])
    page.reload()
    expect(page).to_have_url(re.compile(r"/ui/login\?(?=.*next=)(?=.*expired=1)"))
    expect(page.locator(".notice.info")).to_contain_text("Your session has expired")
    accessible(page)
    page.fill("#username", "bsp1-operator")
    page.fill("#password", logins["bsp1-operator"])
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(f"{bsp.base}/ui/pods/{code}?channel=bsp1-channel")
    expect(page.locator("h1")).to_contain_text(code)

    # a live refresh after expiry goes to the log-in too, and back to this page after it
    expect(page.locator("#live-state")).to_have_text("Live updates: on")
    bsp.context.add_cookies([{"name": "cbp_session", "value": expired, "url": bsp.base}])
    committed(web.client("bsp1"), "POST", f"/pods/{code}/devices", charger(code, 1))
    expect(page).to_have_url(
        re.compile(
            rf"/ui/login\?(?=.*expired=1)(?=.*next=%2Fui%2Fpods%2F{code}%3Fchannel%3Dbsp1-channel)"
        ),
        timeout=20_000,
    )

    # a wrong password is said plainly, and a next= of another site is ignored
    page.goto(f"{bsp.base}/ui/login?next=https://evil.example/")
    page.fill("#username", "bsp1-operator")
    page.fill("#password", "not the password")
    page.click("form[action='/ui/login'] button[type=submit]")
    expect(page.locator(".notice.bad")).to_have_text("wrong user name or password")
    page.fill("#password", logins["bsp1-operator"])
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(f"{bsp.base}/ui/")
    bsp.context.close()


def test_repeated_wrong_passwords_are_throttled_with_the_apis_words(web, chromium) -> None:
    page = chromium.new_page()
    base = web.urls["bsp2"]
    for _ in range(5):  # the connector's rule: five wrong passwords lock the name for a while
        page.goto(base + "/ui/login")
        page.fill("#username", "bsp2-viewer")
        page.fill("#password", "guess")
        page.click("form[action='/ui/login'] button[type=submit]")
        expect(page.locator(".notice.bad")).to_have_text("wrong user name or password")
    page.goto(base + "/ui/login")
    page.fill("#username", "bsp2-viewer")
    page.fill("#password", "guess")
    page.click("form[action='/ui/login'] button[type=submit]")
    expect(page.locator(".notice.bad")).to_contain_text("too many failed log-ins")
    no_traceback(page)
    page.close()


def test_another_tenants_pod_is_never_shown(web, chromium, logins) -> None:
    code = _pod(web)  # BSP 1's, on BSP 1's channel
    other = log_in(chromium, web, logins, "bsp2", "operator")
    for path in (f"/ui/pods/{code}", f"/ui/history/pod/{code}"):
        page = other.go(path)
        expect(page.locator("h1")).to_have_text("Not found")
        expect(page.locator("main")).not_to_contain_text("Parking Ostiense")
        no_traceback(page)
    page = other.go("/ui/explorer/bsp1-channel")
    expect(page.locator("h1")).to_have_text("Not found")  # not one of BSP 2's channels
    page = other.go(f"/ui/pods?q={code}")
    expect(page.locator("#pod-rows")).to_contain_text("No POD matches")
    accessible(page)
    other.context.close()


def test_bad_addresses_and_forms_get_pages_not_tracebacks(web, chromium, logins) -> None:
    bsp = log_in(chromium, web, logins, "bsp1", "operator")
    for path, heading in (
        ("/ui/no-such-page", "Not found"),
        ("/ui/pods?status=Bogus", "Check the values"),
        ("/ui/explorer/bsp1-channel/blocks/999999", "Check the values"),
        ("/ui/explorer/bsp1-channel/tx/abc", "Not found"),
        ("/ui/history/pod/IT002E00000000", "Not found"),
    ):
        page = bsp.go(path)
        expect(page.locator("h1")).to_have_text(heading)
        no_traceback(page)
    accessible(page)
    # a form posted without its token (from another site, say) is refused
    reply = bsp.context.request.post(
        f"{bsp.base}/ui/pods/new", form={"meteringPointId": new_pod_code()}
    )
    assert reply.status == 403
    assert "out of date or came from another site" in reply.text()
    bsp.context.close()
