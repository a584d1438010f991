"""What hostile input must leave as it was, and what it must not leave behind.

- `LogMarks`: where every log of the sandbox ended before; afterwards, the tracebacks (and a
  real Fabric node's panics) written since (a rotated log is read from its `.1` on);
- `snapshot`: every channel's height on every peer (qscc GetChainInfo through that peer) and,
  on the embedded engine, a digest of every peer's world state (public, hashed and private),
  read from its state database without writing to it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from network.paths import SandboxPaths

TRACEBACK = b"Traceback (most recent call last)"
GO_PANIC = b"\npanic: "  # how a real Fabric node's log shows a crash


@dataclass
class LogMarks:
    paths: SandboxPaths
    sizes: dict[Path, int] = field(default_factory=dict)

    @classmethod
    def now(cls, paths: SandboxPaths) -> LogMarks:
        marks = cls(paths)
        for log in sorted(paths.logs.glob("*.log")) if paths.logs.exists() else []:
            marks.sizes[log] = log.stat().st_size
        return marks

    def written_since(self, log: Path) -> bytes:
        mark = self.sizes.get(log, 0)
        current = log.read_bytes() if log.exists() else b""
        if len(current) >= mark:
            return current[mark:]
        rotated = log.with_name(log.name + ".1")  # rotated meanwhile
        older = rotated.read_bytes()[mark:] if rotated.exists() else b""
        return older + current

    def tracebacks(self) -> dict[str, int]:
        """Tracebacks (and Go panics) written to each log since the marks, by log name (only
        those with any)."""
        out: dict[str, int] = {}
        for log in sorted(self.paths.logs.glob("*.log")):
            written = self.written_since(log)
            n = written.count(TRACEBACK) + written.count(GO_PANIC)
            if n:
                out[log.name] = n
        return out


@dataclass(frozen=True)
class Snapshot:
    heights: dict[str, dict[str, int]]  # channel -> peer -> height
    state: dict[str, str]  # "<peer>/<channel>" -> digest of its world state

    def differences(self, other: Snapshot) -> list[str]:
        out = []
        for ch, peers in self.heights.items():
            for peer, h in peers.items():
                if other.heights.get(ch, {}).get(peer) != h:
                    out.append(
                        f"{ch} on {peer}: height {h} -> {other.heights.get(ch, {}).get(peer)}"
                    )
        for where, digest in self.state.items():
            if other.state.get(where) != digest:
                out.append(f"{where}: world state changed")
        return out


def state_digests(paths: SandboxPaths) -> dict[str, str]:
    """Embedded engine: a digest of each peer's world state per channel (nothing elsewhere)."""
    out: dict[str, str] = {}
    if not paths.ledger.exists():
        return out
    for db in sorted(paths.ledger.glob("*/*/state.sqlite")):
        peer, channel = db.parent.parent.name, db.parent.name
        if peer.startswith("orderer"):
            continue
        h = hashlib.sha256()
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for table in ("state", "hashed_state", "private_state"):
                try:
                    rows = con.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")  # noqa: S608
                except sqlite3.OperationalError:
                    continue
                for row in rows:
                    h.update(repr(row).encode())
        finally:
            con.close()
        out[f"{peer}/{channel}"] = h.hexdigest()
    return out


async def snapshot(paths: SandboxPaths) -> Snapshot:
    from cbp.faults.ledgercheck import heights

    profile = json.loads(paths.connection_profile.read_text())
    per_channel = {
        ch: await heights(paths.connection_profile, ch) for ch in sorted(profile["channels"])
    }
    return Snapshot(per_channel, state_digests(paths))
