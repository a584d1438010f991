"""Measurement series kept off the ledger, by their SHA-256 (the ledger anchors the hash)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from connector import esmp
from connector.store.tables import SeriesFile


async def keep(session: AsyncSession, content: bytes, fp: esmp.Fingerprint) -> None:
    """Store the canonical bytes once per content (in the caller's transaction)."""
    if await session.get(SeriesFile, fp.sha256) is None:
        session.add(
            SeriesFile(
                sha256=fp.sha256,
                size=fp.size,
                resource=fp.resource,
                resolution=fp.resolution,
                start=fp.start,
                end=fp.end,
                content=content,
            )
        )


async def get(session: AsyncSession, sha256: str) -> SeriesFile | None:
    return await session.get(SeriesFile, sha256)
