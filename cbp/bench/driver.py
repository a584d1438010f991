"""The Python load driver: many concurrent submits on one `gateway.aio` connection.

Run as its own process (`python -m cbp.bench.driver < config.json`) so that its CPU time is
measured exactly as the Node driver's is; the protocol is in `cbp.bench.protocol`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from cbp.bench.protocol import DriverConfig, encode_event, render_args

log = logging.getLogger(__name__)

MAX_ERROR_KINDS = 20
_TXID = re.compile(r"\b[0-9a-f]{64}\b")


def error_kind(exc: BaseException) -> str:
    """A short, countable name for a failure: transaction ids stripped, first line only."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {_TXID.sub('<txid>', text)[:160]}"


@dataclass
class Window:
    """Counts what completes between `opened` and `closed` (perf_counter seconds)."""

    opened: float | None = None
    closed: float | None = None
    committed: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def counts(self, now: float) -> bool:
        return self.opened is not None and now >= self.opened and self.closed is None

    def record(self, started: float, ended: float, error: BaseException | None) -> None:
        if not self.counts(ended):
            return
        if error is None:
            self.committed += 1
            self.latencies.append(ended - started)
            return
        self.failed += 1
        kind = error_kind(error)
        if kind not in self.errors and len(self.errors) >= MAX_ERROR_KINDS:
            kind = "other errors"
        self.errors[kind] = self.errors.get(kind, 0) + 1


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(encode_event(event, **fields) + "\n")
    sys.stdout.flush()


async def run_level(
    contract: Any, cfg: DriverConfig, level: int, ids: itertools.count[int]
) -> None:
    window = Window()
    stop = asyncio.Event()

    async def worker() -> None:
        while not stop.is_set():
            args = render_args(cfg.args, next(ids))
            t0 = time.perf_counter()
            error: BaseException | None = None
            try:
                await contract.submit_transaction(cfg.function, *args)
            except Exception as exc:  # counted and reported, the load goes on
                error = exc
            window.record(t0, time.perf_counter(), error)

    workers = [asyncio.create_task(worker()) for _ in range(level)]
    await asyncio.sleep(cfg.warmup)
    window.opened = time.perf_counter()
    cpu0 = time.process_time()
    emit("window_start", level=level)
    deadline = window.opened + cfg.duration
    while (now := time.perf_counter()) < deadline:
        await asyncio.sleep(min(cfg.progress_every, deadline - now))
        if time.perf_counter() < deadline:
            emit(
                "progress",
                level=level,
                elapsed=round(time.perf_counter() - window.opened, 3),
                committed=window.committed,
                failed=window.failed,
            )
    window.closed = time.perf_counter()
    cpu = time.process_time() - cpu0
    emit(
        "window_end",
        level=level,
        elapsed=round(window.closed - window.opened, 4),
        committed=window.committed,
        failed=window.failed,
        errors=window.errors,
        latencies_ms=[round(x * 1000, 2) for x in window.latencies],
        cpu_seconds=round(cpu, 4),
    )
    stop.set()
    done, pending = await asyncio.wait(workers, timeout=cfg.drain_timeout)
    for task in pending:
        task.cancel()
    if pending:
        log.warning(
            "%d workers still waiting %.0f s after the window closed",
            len(pending),
            cfg.drain_timeout,
        )


async def run(cfg: DriverConfig) -> None:
    from gateway.aio import connect
    from gateway.identity import load_identity
    from gateway.options import Timeouts
    from gateway.profile import read_profile, resolve_endpoint
    from gateway.signing import load_signer

    ep = resolve_endpoint(read_profile(cfg.profile), cfg.org, cfg.user)
    gw = connect(
        ep.url,
        load_identity(ep.msp_id, ep.certificate),
        load_signer(ep.private_key),
        tls_root_certificates=ep.tls_ca_certificate,
        hostname_override=ep.hostname,
        client_certificate=ep.tls_client_certificate if ep.mutual_tls else None,
        client_key=ep.tls_client_key if ep.mutual_tls else None,
        timeouts=Timeouts(endorse=60.0, submit=60.0, commit_status=120.0),
    )
    async with gw:
        contract = gw.get_network(cfg.channel).get_contract(cfg.chaincode)
        ids = itertools.count(cfg.id_base)
        await contract.submit_transaction(cfg.function, *render_args(cfg.args, next(ids)))
        emit("ready")
        for level in cfg.levels:
            await run_level(contract, cfg, level, ids)
    emit("done")


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        cfg = DriverConfig.model_validate_json(sys.stdin.read())
        asyncio.run(run(cfg))
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
