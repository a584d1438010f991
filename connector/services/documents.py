"""Attachments' bytes: checked by content (PDF or XML), at most 5 MB, named by their SHA-256.

The bytes stay in the connector's store; the ledger keeps the hash, the size and the type.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from connector.errors import InvalidInput, TooLarge, UnsupportedMedia
from connector.store.tables import Document

MAX_BYTES = 5 * 1024 * 1024
PDF, XML = "application/pdf", "application/xml"
_DECLARED = {PDF: PDF, XML: XML, "text/xml": XML}


@dataclass(frozen=True)
class Checked:
    content: bytes
    sha256: str
    mime_type: str
    filename: str | None

    @property
    def size(self) -> int:
        return len(self.content)


def sniff(content: bytes) -> str | None:
    """The document's type from its first bytes, whatever its name says."""
    if content.startswith(b"%PDF-"):
        return PDF
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") or (head.startswith(b"<") and head[1:2].isalpha()):
        return XML
    return None


def from_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("documentFile is not valid base64", code="InvalidArgument") from None


def check(content: bytes, declared: str | None, filename: str | None = None) -> Checked:
    if len(content) > MAX_BYTES:
        raise TooLarge(
            f"the document is {len(content) / 1024 / 1024:.1f} MB; attachments are at most 5 MB"
        )
    if not content:
        raise InvalidInput("the document is empty")
    found = sniff(content)
    if found is None:
        raise UnsupportedMedia(
            "the document is neither PDF nor XML (judged by its content, not its name)"
        )
    if declared is not None:
        wanted = _DECLARED.get(declared.strip().lower())
        if wanted is None:
            raise UnsupportedMedia(f"mimeType {declared!r}: attachments are PDF or XML")
        if wanted != found:
            raise UnsupportedMedia(f"mimeType says {declared} but the content is {found}")
    return Checked(content, hashlib.sha256(content).hexdigest(), found, filename)


async def keep(session: AsyncSession, doc: Checked) -> None:
    """Store the bytes once per content (in the caller's transaction)."""
    if await session.get(Document, doc.sha256) is None:
        session.add(
            Document(
                sha256=doc.sha256,
                size=doc.size,
                mime_type=doc.mime_type,
                filename=doc.filename,
                content=doc.content,
            )
        )
        await session.flush()  # a second copy in the same transaction finds this one
