"""What the browser tests share: logging in each organisation's user in a browser context of
its own, the accessibility check (axe-core in the page), screenshots, and proving that a page
changed without being reloaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"

# axe-core's impacts that fail a page; minor and moderate ones are reported, not failed
FAILING = ("serious", "critical")


@dataclass
class User:
    """One person in one organisation, in a browser context (cookies) of their own."""

    org: str
    base: str
    context: Any
    page: Any
    checked: set[str] = field(default_factory=set)

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("domcontentloaded")
        return self.page

    def url(self, path: str) -> str:
        return self.base + path


def log_in(chromium: Any, web: Any, logins: dict[str, str], org: str, access: str) -> User:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    base = web.urls[org]
    page.goto(base + "/ui/")
    assert "/ui/login" in page.url, page.url  # no session yet: the log-in page
    page.fill("#username", f"{org}-{access}")
    page.fill("#password", logins[f"{org}-{access}"])
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(base + "/ui/")
    return User(org, base, context, page)


def accessible(page: Any, checked: set[str] | None = None) -> list[dict[str, Any]]:
    """Run axe-core in the page; fail on any serious or critical violation."""
    key = page.url.split("?")[0]
    if checked is not None and key in checked:
        return []
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = result["violations"]
    bad = [v for v in violations if v.get("impact") in FAILING]
    assert not bad, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(n["target"][0] for n in v["nodes"][:3])
        for v in bad
    )
    if checked is not None:
        checked.add(key)
    return violations


def shot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot, in 256 colours (a page is text and flat colour: a third of the
    bytes, nothing lost to the eye)."""
    from PIL import Image

    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path


def mark_unreloaded(page: Any) -> None:
    """A flag in the page's window: it survives only as long as the page is not reloaded."""
    page.evaluate("() => { window.__cbpNoReload = 'still here'; }")


def was_not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("() => window.__cbpNoReload === 'still here'"))


def no_traceback(page: Any) -> None:
    text = page.content()
    assert "Traceback" not in text and 'File "' not in text, page.url
