"""Values every endorsing peer must write byte for byte alike: JSON with sorted keys and no
spaces, and times in UTC with microseconds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

__all__ = ["dumps", "iso"]


def dumps(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
