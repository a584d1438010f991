"""`cbp simulate p2p --ledger`: the case study's market run on the sandbox, through the gateway.

As the parties would run it: the operator (infraop's User1) sets the market parameters if
those in force differ; every EV is declared by its user (evusers' User1) and the ledger's
role and energies (eqs. 1-3) are checked against the case study's; every trade is submitted
by its buyer; the operator rejects the trades that delivered nothing and confirms the others,
with the energy delivered, in batches of up to 500 per transaction; finally every trade is
read back from the ledger (by batch) and compared with the CSV.

Throughput: transactions go through one `gateway.aio` connection per party with up to
``concurrency`` in flight. Two transactions that write the same EV would collide (the second
fails MVCC_READ_CONFLICT), so each waits for the earlier ones of its EVs to commit: a per-EV
lock, taken in id order. Confirmations write only their trades (an EV only on a short
delivery), so batches never collide with each other.

Ids carry a run prefix (``R1a2b3c-EV0001``) so that runs on one ledger never meet.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway import CommitError, GatewayClientError, GatewayError
from gateway.aio import Contract, Gateway, connect
from gateway.identity import load_identity
from gateway.options import Timeouts
from gateway.profile import read_profile, resolve_endpoint
from gateway.signing import load_signer

from .energy import kwh
from .results import Case, trade_rows

CHANNEL = "p2p-trading"
CHAINCODE = "trading"
OPERATOR = ("infraop", "User1")
EV_USER = ("evusers", "User1")
TARGET_SECONDS = 60.0  # what 1,000 EVs' trades must take at most on a 2-core machine
PREFERRED_BLOCK_BYTES = 2 * 1024 * 1024  # the topology's orderer preferred_max_bytes

Say = Callable[[str], None]


class LedgerRunError(RuntimeError):
    """The ledger run could not be done, or the ledger disagrees with the case study."""


@dataclass
class Phase:
    name: str
    transactions: int = 0
    items: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


@dataclass
class LedgerReport:
    run_id: str
    rows: list[dict[str, str]]
    phases: dict[str, Phase] = field(default_factory=dict)
    batch_sizes: list[int] = field(default_factory=list)
    largest_batch_bytes: int = 0
    wall_seconds: float = 0.0
    checked: int = 0
    sample: list[dict[str, Any]] = field(
        default_factory=list
    )  # a few trades as the ledger has them

    @property
    def trades_seconds(self) -> float:
        """From the first trade submitted to the last confirmation committed."""
        return sum(self.phases[p].seconds for p in ("submit", "settle") if p in self.phases)

    def as_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "wallSeconds": round(self.wall_seconds, 2),
            "tradesSeconds": round(self.trades_seconds, 2),
            "phases": {
                name: {
                    "transactions": p.transactions,
                    "items": p.items,
                    "seconds": round(p.seconds, 2),
                    "perSecond": round(p.per_second, 1),
                }
                for name, p in self.phases.items()
            },
            "confirmationsPerBatch": self.batch_sizes,
            "largestBatchBytes": self.largest_batch_bytes,
            "tradesChecked": self.checked,
        }

    def to_text(self) -> str:
        d, s, c = self.phases["declare"], self.phases["submit"], self.phases["settle"]
        trades = s.items
        lines = [
            f"on the ledger (run {self.run_id}, channel {CHANNEL}):",
            f"  declare                 {d.items} EVs in {d.seconds:.1f} s ({d.per_second:.0f} tx/s)",
            f"  submit                  {trades} trades committed in {s.seconds:.1f} s "
            f"({s.per_second:.0f} trades committed/s)",
            f"  confirm                 {sum(self.batch_sizes)} trades in {len(self.batch_sizes)} "
            f"batch{'' if len(self.batch_sizes) == 1 else 'es'} ({', '.join(map(str, self.batch_sizes)) or '-'} confirmations per batch), "
            f"{c.items - sum(self.batch_sizes)} rejected, in {c.seconds:.1f} s: "
            f"{c.per_second:.0f} trades settled/s, against {d.per_second:.0f}/s for one-record "
            "transactions (the declarations above, same run)",
            f"  largest batch           {self.largest_batch_bytes / 1024:.0f} KiB "
            f"(orderer's preferred block size {PREFERRED_BLOCK_BYTES // 1024 // 1024} MiB)",
            f"  trades, submit to final {self.trades_seconds:.1f} s "
            f"({trades / self.trades_seconds if self.trades_seconds else 0:.0f} trades/s); "
            f"whole run {self.wall_seconds:.1f} s (target for 1,000 EVs: {TARGET_SECONDS:.0f} s)",
            f"  checked                 {self.checked} trades on the ledger equal trades.csv",
        ]
        if self.sample:
            lines += ["", "the first trades as the ledger holds them:"]
            lines.append(
                f"  {'trade':<16} {'buyer (pays)':<16} {'seller':<16} {'kWh':>8} {'EUR':>7}  "
                f"{'submitted (UTC)':<20} status"
            )
            for t in self.sample:
                lines.append(
                    f"  {t['tradeId']:<16} {t['buyerId']:<16} {t['sellerId']:<16} "
                    f"{t['deliveredKwh']:>8} {t['costEur']:>7}  {t['submitted']['at'][:19]:<20} "
                    f"{t['status']}" + (f" in {t['batchId']}" if t.get("batchId") else "")
                )
        return "\n".join(lines)


def _connect(profile: dict[str, Any], org: str, user: str) -> Gateway:
    ep = resolve_endpoint(profile, org, user)
    return connect(
        ep.url,
        load_identity(ep.msp_id, ep.certificate),
        load_signer(ep.private_key),
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
        client_certificate=ep.tls_client_certificate if ep.mutual_tls else None,
        client_key=ep.tls_client_key if ep.mutual_tls else None,
        timeouts=Timeouts(endorse=60.0, submit=60.0, commit_status=120.0, evaluate=30.0),
    )


class _Progress:
    def __init__(self, say: Say, what: str, total: int) -> None:
        self.say, self.what, self.total = say, what, total
        self.done = 0
        self.started = self.last = time.perf_counter()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.done == self.total or now - self.last >= 2.0:
            self.last = now
            self.say(f"{self.what} {self.done}/{self.total} ({now - self.started:.1f} s)")


class _Runner:
    """Bounded concurrency, and one lock per EV so that no two in-flight writes share one."""

    def __init__(self, concurrency: int) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.locks: dict[str, asyncio.Lock] = {}

    async def run(self, evs: Sequence[str], work: Callable[[], Awaitable[Any]]) -> Any:
        locks = [self.locks.setdefault(e, asyncio.Lock()) for e in sorted(set(evs))]
        async with AsyncExitStack() as stack:
            for lock in locks:  # in id order: two tasks never wait on each other's lock
                await stack.enter_async_context(lock)
            async with self.slots:
                return await work()


async def _submit(contract: Contract, function: str, body: dict[str, Any]) -> tuple[bytes, int]:
    """Endorse, submit and wait for a valid commit; the result and the transaction's size."""
    for attempt in range(3):
        tx = await contract.new_proposal(function, json.dumps(body)).endorse()
        size = len(tx.to_bytes())
        commit = await tx.submit()
        status = await commit.get_status()
        try:
            status.raise_for_status()
        except CommitError as exc:
            if exc.code_name == "MVCC_READ_CONFLICT" and attempt < 2:
                continue  # another writer of the same key won; endorse again on the new state
            raise
        return tx.result, size
    raise AssertionError("unreachable")


async def _parameters(operator: Contract, case: Case, say: Say) -> None:
    s = case.settings
    wanted = {
        "buyThresholdPct": str(s.buy_threshold_pct),
        "sellThresholdPct": str(s.sell_threshold_pct),
        "priceEurPerKwh": f"{s.price_eur_per_kwh.normalize():f}",
    }
    try:
        current = json.loads(await operator.evaluate_transaction("ReadMarketParameters"))
    except GatewayError as exc:
        if "NotFound" not in str(exc):
            raise
        current = {}
    if all(current.get(k) == v for k, v in wanted.items()):
        say(f"market parameters v{current['version']} in force: {wanted}")
        return
    result, _ = await _submit(operator, "SetMarketParameters", dict(wanted))
    say(f"operator set market parameters v{json.loads(result)['version']}: {wanted}")


async def _run(
    case: Case, profile_path: str | None, batch_size: int, concurrency: int, say: Say
) -> LedgerReport:
    run_id = "R" + secrets.token_hex(3)
    prefix = f"{run_id}-"
    rows = trade_rows(case, prefix)
    report = LedgerReport(run_id=run_id, rows=rows)
    profile = read_profile(Path(profile_path) if profile_path else None)
    started = time.perf_counter()
    async with _connect(profile, *OPERATOR) as op_gw, _connect(profile, *EV_USER) as ev_gw:
        operator = op_gw.get_network(CHANNEL).get_contract(CHAINCODE)
        user = ev_gw.get_network(CHANNEL).get_contract(CHAINCODE)
        await _parameters(operator, case, say)
        runner = _Runner(concurrency)

        # 1. every EV declared by its user; the ledger's eqs. 1-3 must equal the case study's
        phase = report.phases["declare"] = Phase("declare")
        progress = _Progress(say, "declared EVs", len(case.fleet))
        mismatches: list[str] = []

        async def declare(ev: Any) -> None:
            body = {
                "evId": prefix + ev.ev_id,
                "batteryCapacityKwh": ev.capacity_kwh,
                "socPct": str(ev.soc_pct),
            }
            result, _ = await runner.run([ev.ev_id], lambda: _submit(user, "DeclareEv", body))
            record = json.loads(result)
            expected = (ev.role.value, str(kwh(ev.required_wh)), str(kwh(ev.available_wh)))
            got = (record["role"], record["requiredKwh"], record["availableKwh"])
            if got != expected:
                mismatches.append(f"EV {ev.ev_id}: ledger {got}, case study {expected}")
            progress.step()

        t0 = time.perf_counter()
        await asyncio.gather(*(declare(ev) for ev in case.fleet))
        phase.seconds, phase.items = time.perf_counter() - t0, len(case.fleet)
        phase.transactions = phase.items
        if mismatches:
            raise LedgerRunError("the ledger's eqs. 1-3 differ: " + "; ".join(mismatches[:5]))

        # 2. every trade submitted by its buyer
        phase = report.phases["submit"] = Phase("submit")
        progress = _Progress(say, "trades committed", len(rows))

        async def submit(row: dict[str, str]) -> None:
            body = {
                "tradeId": row["tradeId"],
                "buyerId": row["buyerId"],
                "sellerId": row["sellerId"],
                "amountKwh": row["agreedKwh"],
            }
            await runner.run(
                [row["buyerId"], row["sellerId"]], lambda: _submit(user, "SubmitTrade", body)
            )
            progress.step()

        t0 = time.perf_counter()
        await asyncio.gather(*(submit(r) for r in rows))
        phase.seconds = time.perf_counter() - t0
        phase.items = phase.transactions = len(rows)

        # 3. the operator rejects what delivered nothing, confirms the rest in batches
        phase = report.phases["settle"] = Phase("settle")
        confirm = [r for r in rows if r["status"] == "Confirmed"]
        reject = [r for r in rows if r["status"] == "Rejected"]
        batches = [confirm[i : i + batch_size] for i in range(0, len(confirm), batch_size)]
        progress = _Progress(say, "trades confirmed or rejected", len(rows))

        async def settle_batch(n: int, batch: list[dict[str, str]]) -> None:
            body = {
                "batchId": f"{prefix}B{n + 1:03d}",
                "confirmations": [
                    {"tradeId": r["tradeId"], "deliveredKwh": r["deliveredKwh"]} for r in batch
                ],
            }
            # A short delivery gives energy back to its EVs: lock those (usually none).
            short = [
                e
                for r in batch
                if r["deliveredKwh"] != r["agreedKwh"]
                for e in (r["buyerId"], r["sellerId"])
            ]
            _, size = await runner.run(short, lambda: _submit(operator, "ConfirmTrades", body))
            report.largest_batch_bytes = max(report.largest_batch_bytes, size)
            progress.step(len(batch))

        async def settle_reject(row: dict[str, str]) -> None:
            body = {"tradeId": row["tradeId"], "reason": "nothing was delivered"}
            await runner.run(
                [row["buyerId"], row["sellerId"]], lambda: _submit(operator, "RejectTrade", body)
            )
            progress.step()

        t0 = time.perf_counter()
        await asyncio.gather(
            *(settle_batch(n, b) for n, b in enumerate(batches)),
            *(settle_reject(r) for r in reject),
        )
        phase.seconds = time.perf_counter() - t0
        phase.items = len(rows)
        phase.transactions = len(batches) + len(reject)
        report.batch_sizes = [len(b) for b in batches]

        # 4. the ledger's trades equal the CSV
        ledger_rows = {}
        for n in range(len(batches)):
            batch = json.loads(
                await user.evaluate_transaction("ReadBatch", f"{prefix}B{n + 1:03d}")
            )
            for t in batch["trades"]:
                ledger_rows[t["tradeId"]] = t
        for r in reject:
            t = json.loads(await user.evaluate_transaction("ReadTrade", r["tradeId"]))
            ledger_rows[t["tradeId"]] = t
        report.checked = _check(rows, ledger_rows)
        report.sample = [ledger_rows[k] for k in sorted(ledger_rows)[:5]]
    report.wall_seconds = time.perf_counter() - started
    return report


def _check(rows: list[dict[str, str]], ledger: dict[str, dict[str, Any]]) -> int:
    problems = []
    for r in rows:
        t = ledger.get(r["tradeId"])
        if t is None:
            problems.append(f"trade {r['tradeId']} is not on the ledger")
            continue
        got = (
            t["buyerId"],
            t["sellerId"],
            t["amountKwh"],
            t["deliveredKwh"],
            t["costEur"],
            t["status"],
        )
        want = (
            r["buyerId"],
            r["sellerId"],
            r["agreedKwh"],
            r["deliveredKwh"],
            r["costEur"],
            r["status"],
        )
        if got != want or Decimal(t["priceEurPerKwh"]) != Decimal(r["priceEurPerKwh"]):
            problems.append(f"trade {r['tradeId']}: ledger {got}, CSV {want}")
    if problems:
        raise LedgerRunError(
            f"{len(problems)} trades on the ledger differ from trades.csv: "
            + "; ".join(problems[:5])
        )
    return len(rows)


def run_on_ledger(
    case: Case,
    *,
    profile: str | None,
    batch_size: int,
    concurrency: int,
    say: Say,
) -> LedgerReport:
    say(
        f"on the ledger: declaring {len(case.fleet)} EVs, submitting "
        f"{len(case.chosen.matching.trades)} trades, confirming in batches of {batch_size}"
    )
    try:
        return asyncio.run(_run(case, profile, batch_size, concurrency, say))
    except GatewayClientError as exc:
        raise LedgerRunError(
            f"{exc} (is the sandbox up? `cbp network up`, with the same CBP_HOME)"
        ) from exc
