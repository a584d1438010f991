"""The figures of a faults run, as a table and as JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cbp.faults.contracts import Refusal
from cbp.faults.kills import FaultResult
from cbp.faults.tenants import Cell


@dataclass
class Family:
    """One family of bad input: how many were tried and what became of them."""

    name: str
    tried: int = 0
    refused: int = 0  # refused cleanly, with the status a Fabric node or the chaincode gives
    accepted: int = 0  # valid after all (a harmless read), or the control's valid requests
    unclean: int = 0
    hangs: int = 0
    tracebacks: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # what went wrong, if anything did


@dataclass
class FaultsReport:
    engine: str
    concurrency: int
    faults: list[FaultResult] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    replays: list[tuple[str, int]] = field(default_factory=list)
    state_changes: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    peers_compared: int = 0
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ---- verdicts --------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Everything that breaks a promise; empty when the run passed."""
        out = []
        for f in self.faults:
            c = f.counts
            if c.lost or c.doubled:
                out.append(f"{f.fault} ({f.when}): {c.lost} lost, {c.doubled} doubled")
        for fam in self.families:
            if fam.name == "valid (control)":
                if fam.accepted != fam.tried:
                    out.append(f"control: {fam.tried - fam.accepted} valid requests refused")
                continue
            if (
                fam.unclean
                or fam.hangs
                or fam.tracebacks
                or fam.refused + fam.accepted != fam.tried
            ):
                out.append(
                    f"{fam.name}: {fam.unclean} unclean, {fam.hangs} hangs, "
                    f"{fam.tracebacks} tracebacks"
                )
        if any(code != 9 for _, code in self.replays):
            out.append(f"replayed submissions not invalidated as duplicates: {self.replays}")
        out += [f"state changed: {d}" for d in self.state_changes]
        out += [f"crashed: {p}" for p in self.crashed]
        wrong = [c for c in self.cells if not c.as_designed]
        out += [
            f"tenant {c.org} {c.operation} on {c.channel}: "
            f"{'allowed' if c.allowed else 'refused'}, designed {'allowed' if c.expected else 'refused'}"
            for c in wrong
        ]
        return out

    # ---- text --------------------------------------------------------------------------------

    def to_text(self) -> str:
        lines: list[str] = []
        if self.faults:
            lines += self._faults_table()
        if self.families:
            lines += ["", *self._families_table()]
        if self.cells:
            lines += ["", *self._matrix()]
        problems = self.problems()
        lines += ["", "Verdict: " + ("every promise kept" if not problems else "PROBLEMS")]
        lines += [f"  - {p}" for p in problems]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _faults_table(self) -> list[str]:
        by: dict[str, list[FaultResult]] = {}
        for f in self.faults:
            by.setdefault(f.fault, []).append(f)
        head = (
            f"{'fault (kill -9 under load)':<30}{'kills':>6}{'acknowledged':>14}{'lost':>6}"
            f"{'doubled':>9}{'limbo (committed)':>19}{'refused':>9}{'recover s':>11}{'restart s':>11}"
        )
        out = [
            f"Faults: {self.engine} engine, {self.concurrency} writers; recover = kill to the first "
            "write acknowledged again, restart = death to replacement ready (worst of the kills)",
            head,
            "-" * len(head),
        ]
        for name, runs in by.items():
            kills = sum(r.when != "control" for r in runs)
            ack = sum(r.counts.acknowledged for r in runs)
            limbo = sum(r.counts.limbo for r in runs)
            committed = sum(r.counts.limbo_committed for r in runs)
            recover = [r.recover_seconds for r in runs if r.recover_seconds is not None]
            restart = [r.restart_seconds for r in runs if r.restart_seconds is not None]
            out.append(
                f"{name:<30}{kills if kills else '-':>6}{ack:>14}"
                f"{sum(r.counts.lost for r in runs):>6}{sum(r.counts.doubled for r in runs):>9}"
                f"{f'{limbo} ({committed})':>19}{sum(r.counts.refused for r in runs):>9}"
                f"{f'{max(recover):.2f}' if recover else '-':>11}"
                f"{f'{max(restart):.2f}' if restart else '-':>11}"
            )
        return out

    def _families_table(self) -> list[str]:
        head = (
            f"{'input family':<26}{'tried':>7}{'refused cleanly':>17}{'accepted':>10}"
            f"{'unclean':>9}{'hangs':>7}{'tracebacks logged':>19}"
        )
        out = [
            "Hostile input: every gRPC method of the peers and the orderer, every contract "
            "transaction",
            head,
            "-" * len(head),
        ]
        for f in self.families:
            out.append(
                f"{f.name:<26}{f.tried:>7}{f.refused:>17}{f.accepted:>10}{f.unclean:>9}"
                f"{f.hangs:>7}{f.tracebacks:>19}"
            )
        total = [f for f in self.families if f.name != "valid (control)"]
        out.append(
            f"{'all bad input':<26}{sum(f.tried for f in total):>7}"
            f"{sum(f.refused for f in total):>17}{sum(f.accepted for f in total):>10}"
            f"{sum(f.unclean for f in total):>9}{sum(f.hangs for f in total):>7}"
            f"{sum(f.tracebacks for f in total):>19}"
        )
        if self.replays:
            dup = sum(code == 9 for _, code in self.replays)
            out.append(
                f"replayed submissions: {len(self.replays)} ordered, {dup} invalidated as "
                "DUPLICATE_TXID"
            )
        state = "unchanged" if not self.state_changes else "CHANGED"
        out.append(
            f"heights and world state of {self.peers_compared} peer channels: {state}; "
            f"crashes: {len(self.crashed)}"
        )
        return out

    def _matrix(self) -> list[str]:
        allowed = sum(c.allowed for c in self.cells)
        orgs = len({c.org for c in self.cells})
        channels = len({c.channel for c in self.cells})
        ways = len({c.operation for c in self.cells})
        wrong = sum(not c.as_designed for c in self.cells)
        out = [
            f"Cross-tenant matrix: {len(self.cells)} cells ({orgs} organisations x {channels} "
            f"channels x {ways} ways in): {allowed} allowed, {len(self.cells) - allowed} refused, "
            f"{'all as designed' if not wrong else f'{wrong} NOT as designed'}"
        ]
        for org in sorted({c.org for c in self.cells}):
            mine = [c for c in self.cells if c.org == org]
            on = sorted({c.channel for c in mine if c.allowed})
            private = sorted({c.channel for c in mine if c.allowed and c.operation == "private"})
            text = ", ".join(on) or "nothing"
            if private:
                text += f" (private data on {', '.join(private)})"
            out.append(f"  {org:<10} allowed on: {text}")
        return out

    # ---- JSON -----------------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "concurrency": self.concurrency,
            "faults": [f.as_json() for f in self.faults],
            "families": [
                {**{k: v for k, v in f.__dict__.items() if k != "codes"}, "codes": dict(f.codes)}
                for f in self.families
            ],
            "replays": self.replays,
            "stateChanges": self.state_changes,
            "crashed": self.crashed,
            "matrix": [c.__dict__ for c in self.cells],
            "problems": self.problems(),
            "notes": self.notes,
        }


def family_from_contracts(name: str, refusals: list[Refusal], tracebacks: int) -> Family:
    fam = Family(name, tried=len(refusals), tracebacks=tracebacks)
    for r in refusals:
        fam.codes[str(r.status)] += 1
        if r.clean:
            fam.refused += 1
        elif r.status == 200:
            fam.unclean += 1
            fam.examples.append(f"{r.call.transaction.label} accepted {r.call.flaw}")
        else:
            fam.unclean += 1
            fam.examples.append(
                f"{r.call.transaction.label} {r.call.target} ({r.call.flaw}): {r.status} {r.message[:120]}"
            )
    return fam
