"""Every relative link in the project's pages (README.md, docs/, each package's README) leads
to a file or folder inside the repository: a fresh clone has nothing beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", ".sandbox", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return sorted(p for p in REPO.rglob("*.md") if not SKIP.intersection(p.relative_to(REPO).parts))


def _relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks are not links
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def test_docs_the_pages_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in _pages()}
    assert {"README.md", "docs/design.md", "docs/architecture.md"} <= names
    assert "chaincode/registry/README.md" in names


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_docs_relative_links_resolve_inside_the_repository(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(REPO) or not path.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)} links to what a clone does not have: {broken}"
    assert "shared/DESIGN.md" not in page.read_text(), "the design is docs/design.md"
