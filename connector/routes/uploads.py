"""Reading an uploaded file without holding more than the limit in memory."""

from __future__ import annotations

from fastapi import UploadFile

from connector.errors import TooLarge
from connector.services.documents import MAX_BYTES


async def read_upload(
    file: UploadFile, limit: int = MAX_BYTES, what: str = "the document"
) -> tuple[bytes, str | None]:
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"{what} is over {limit // (1024 * 1024)} MB")
    name = (file.filename or "").rsplit("/", 1)[-1][:256] or None
    return content, name
