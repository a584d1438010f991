"""How the connector files the P2P market's records and announces their changes, without a
network: records as the trading chaincode writes them (its in-memory test stub), write sets as
a transaction carries them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trading_fakes import ALICE, OPERATOR, seed_market, state_of

from connector.feeds import REGISTRY_FEED, TRADING_FEED, records_written, trading_row


@dataclass(frozen=True)
class Write:
    namespace: str
    key: str
    value: bytes
    is_delete: bool = False


Record = dict[str, Any]


def _seed_market() -> tuple[Record, Record, Record, Record]:
    """The buyer EV B1 as declared, trade T1 as submitted, its batch, the parameters."""
    m = seed_market()
    ev = state_of(m, "B1")
    trade = m.submit(
        ALICE,
        "SubmitTrade",
        {"tradeId": "T1", "buyerId": "B1", "sellerId": "S1", "amountKwh": "18.0"},
    )
    m.submit(
        OPERATOR, "ConfirmTrades", {"batchId": "BATCH-1", "confirmations": [{"tradeId": "T1"}]}
    )
    batch = state_of(m, "BATCH-1")
    params = m.evaluate(OPERATOR, "ReadMarketParameters")
    return ev, trade, batch, params


def test_trading_row_files_each_record_under_its_kind() -> None:
    ev, trade, batch, params = _seed_market()
    rows = [trading_row(r) for r in (ev, trade, batch, params)]
    assert [(r.kind, r.id, r.status, r.parent_id) for r in rows if r] == [
        ("ev", "B1", "Buyer", ev["owner"]),
        ("trade", "T1", "Pending", None),
        ("batch", "BATCH-1", "Confirmed", None),
        ("marketparams", "000001", None, None),
    ]
    assert rows[1] is not None and rows[1].name == "B1 → S1"  # found by either EV's id
    # a balance is a read, not a record: the mirror never files one
    assert trading_row({"evId": "B1", "role": "Buyer", "boughtKwh": "0.000"}) is None
    assert REGISTRY_FEED.file(trade) is None and TRADING_FEED.file({"docType": "pod"}) is None


def test_records_written_takes_records_once_and_leaves_indexes_out() -> None:
    ev, trade, _, params = _seed_market()
    writes = [
        Write("trading", "\x00EV\x00B1\x00", json.dumps(ev).encode()),
        Write("trading", "\x00Trade\x00T1\x00", json.dumps(trade).encode()),
        Write("trading", "\x00Trade~status\x00Pending\x00T1\x00", b"\x00"),
        Write("trading", "\x00Params\x00", json.dumps(params).encode()),
        Write("trading", "\x00Params~version\x00000001\x00", json.dumps(params).encode()),
        Write("trading", "\x00Trade~status\x00Pending\x00T0\x00", b"", is_delete=True),
        Write("registry", "\x00EV\x00B1\x00", json.dumps(ev).encode()),
    ]
    assert records_written(writes, TRADING_FEED) == [ev, trade, params]


def test_trading_changes_say_what_reached_its_state_in_this_transaction() -> None:
    ev, trade, batch, _ = _seed_market()
    confirmed_tx = batch["confirmed"]["txId"]
    confirmed = {
        **trade,
        "status": "Confirmed",
        "batchId": "BATCH-1",
        "confirmed": batch["confirmed"],
    }
    changes = TRADING_FEED.changes({}, [confirmed, batch, ev], confirmed_tx)
    assert changes == [
        {"entity": "Trade", "id": "T1", "to": "Confirmed", "actor": batch["confirmed"]["by"]},
        {"entity": "Batch", "id": "BATCH-1", "to": "Confirmed", "actor": batch["confirmed"]["by"]},
        {"entity": "EV", "id": "B1"},  # its energy changed, not its role
    ]
    # the registry's events list their own changes
    payload = {"changes": [{"entity": "POD", "id": "IT002E00112233"}, "junk"]}
    assert REGISTRY_FEED.changes(payload, [], "tx") == [{"entity": "POD", "id": "IT002E00112233"}]
