"""kill -9 of a connector with 100 operations in flight, then a restart: every accepted
operation ends committed or failed, none is committed twice (counted on the ledger), and the
event listener resumes from its checkpoint with no gap and no repeat."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from connector_helpers import new_pod_code, until
from connectors import Connectors
from sqlalchemy import create_engine, text

from gateway import Gateway, from_profile
from gateway.ledger import decode_block

pytestmark = pytest.mark.sandbox
CHANNEL = "bsp1-channel"


@pytest.fixture(scope="module")
def ledger(connectors: Connectors) -> Iterator[Gateway]:
    with from_profile("tso", "User1", connectors.profile) as gw:
        yield gw


def _store_rows(connectors: Connectors, sql: str) -> list[tuple[Any, ...]]:
    url = (connectors.database_urls or {}).get("bsp1") or (
        f"sqlite:///{connectors.home / 'connectors' / 'bsp1' / 'connector.db'}"
    )
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _registry_txs(ledger: Gateway, start: int, stop: int) -> tuple[Counter[str], set[str]]:
    """VALID registrations per POD code or device id, and every VALID registry transaction id
    with an event, from block `start` to block `stop`."""
    network = ledger.get_network(CHANNEL)
    pods: Counter[str] = Counter()
    with_event: set[str] = set()
    for block in network.iter_blocks(start, stop):
        for tx in decode_block(block).transactions:
            if tx.chaincode != "registry" or not tx.valid:
                continue
            if tx.events:
                with_event.add(tx.transaction_id)
            if tx.function in ("RegisterPod", "RegisterDevice"):
                record = json.loads(tx.args[0])
                pods[record.get("resourceId") or record["meteringPointId"]] += 1
    return pods, with_event


def test_connector_kill_9_with_100_operations_in_flight(
    connectors: Connectors, ledger: Gateway
) -> None:
    start = ledger.get_network(CHANNEL).get_chain_info().height
    bsp = connectors.client("bsp1")
    # 25 PODs with 3 chargers each: 100 operations accepted in one request, in 25 lanes of 4
    codes = [new_pod_code() for _ in range(25)]
    rows = [
        "meteringPointId,parentResourceId,resourceId,resourceName,deviceType,direction,"
        "contractedPower,maximumFlexUp,maximumFlexDown,gridVoltageLevel,"
        "distributionGridOperatorName,startDateTime"
    ]
    for code in codes:
        rows.append(f"{code},,,Site {code},,consumption,80,66,66,LV,10XIT-ARETI----C,2026-03-01")
        rows += [
            f",{code},{code}-EVSE-{n},Charger {n},EVSE,consumption,22,22,22,,,2026-03-01"
            for n in (1, 2, 3)
        ]
    upload = bsp.post("/loads", files={"file": ("crash.csv", "\n".join(rows).encode())})
    assert upload.status_code == 202 and upload.json()["accepted"] == 100, upload.text
    connectors.kill("bsp1")
    load_id = upload.json()["id"]
    [(in_flight,)] = _store_rows(
        connectors,
        f"select count(*) from operations where load_id = '{load_id}' "
        "and status not in ('committed', 'failed')",
    )
    assert in_flight >= 90, f"only {in_flight} of 100 operations were in flight at the kill"
    connectors.start("bsp1")
    bsp = connectors.client("bsp1")
    accepted = bsp.get("/operations", params={"load": load_id, "limit": 500}).json()["items"]
    assert len(accepted) == 100

    def all_final() -> list[dict[str, Any]] | None:
        got = [bsp.get(f"/operations/{a['id']}").json() for a in accepted]
        return got if all(o["status"] in ("committed", "failed") for o in got) else None

    ops = until(all_final, timeout=120, what="every accepted operation final after the restart")
    assert [o["status"] for o in ops] == ["committed"] * 100, Counter(o["status"] for o in ops)

    top = ledger.get_network(CHANNEL).get_chain_info().height - 1
    registered, with_event = _registry_txs(ledger, start, top)
    resources = [o["resourceId"] for o in ops]
    assert all(registered[r] == 1 for r in resources), {r: registered[r] for r in resources}
    for op in ops:
        valid = [t for t in op["attemptTransactionIds"] if t in with_event]
        assert valid == [op["transactionId"]], op

    def applied() -> Counter[str]:
        rows = _store_rows(
            connectors,
            f"select tx_id from applied_events where channel = '{CHANNEL}' "
            f"and block_number between {start} and {top}",
        )
        return Counter(t for (t,) in rows)

    # the listener catches up on its own; then every event is there, once
    until(lambda: len(applied()) >= len(with_event), timeout=60, what="events applied")
    assert applied() == Counter(with_event), "an event missed or repeated"
