"""What the ledger keeps of a document: its type, size and SHA-256; the bytes stay off-chain.

A client gives either the document itself (base64, hashed here and then dropped) or the hash
and size the connector computed when it stored the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from .codes import (
    MAX_ATTACHMENT_BYTES,
    check_mime_type,
    check_sha256,
    sniff_matches_mime,
)
from .errors import InvalidArgument

_LIMIT_TEXT = f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"


def fingerprint(
    entity: str,
    mime_type: str,
    document_file: str | None,
    sha256: str | None,
    size: int | None,
) -> dict[str, object]:
    """``{"mimeType", "sha256", "size"}`` of a checked document, or an InvalidArgument."""
    try:
        mime = check_mime_type(mime_type)
    except ValueError as exc:
        raise InvalidArgument(f"{entity}: {exc}") from None
    if document_file is not None:
        # Decoded size is about 3/4 of the text: refuse oversized documents before decoding.
        if len(document_file) * 3 // 4 > MAX_ATTACHMENT_BYTES + 3:
            raise InvalidArgument(
                f"{entity}: document is larger than the {_LIMIT_TEXT} limit for attachments"
            )
        try:
            content = base64.b64decode(document_file, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument(f"{entity}: documentFile is not valid base64") from None
        _check_size(entity, len(content))
        if not sniff_matches_mime(content, mime):
            raise InvalidArgument(f"{entity}: documentFile does not look like {mime}")
        digest = hashlib.sha256(content).hexdigest()
        if sha256 is not None and check_sha256(sha256) != digest:
            raise InvalidArgument(f"{entity}: sha256 does not match documentFile")
        if size is not None and size != len(content):
            raise InvalidArgument(
                f"{entity}: size {size} does not match documentFile ({len(content)} bytes)"
            )
        return {"mimeType": mime, "sha256": digest, "size": len(content)}
    if sha256 is None or size is None:
        raise InvalidArgument(f"{entity}: give documentFile, or both sha256 and size")
    try:
        digest = check_sha256(sha256)
    except ValueError as exc:
        raise InvalidArgument(f"{entity}: {exc}") from None
    _check_size(entity, size)
    return {"mimeType": mime, "sha256": digest, "size": size}


def _check_size(entity: str, size: int) -> None:
    if size == 0:
        raise InvalidArgument(f"{entity}: document is empty")
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidArgument(
            f"{entity}: document of {size} bytes exceeds the {_LIMIT_TEXT} limit for attachments"
        )
