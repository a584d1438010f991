"""A connector store on a real SQLite file, and operations to put in it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.store.database import Database
from connector.store.tables import Operation


def make_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'connector.db'}")
    asyncio.run(db.migrate())
    return db


def make_operation(op_id: str) -> Operation:
    moment = datetime.now(UTC)
    return Operation(
        id=op_id, service="Register Flex Resource", function="RegisterPod",
        channel="bsp1-channel", args=["{}"], lane="bsp1-channel/IT002E00112233",
        resource_kind="pod", resource_id="IT002E00112233", status="accepted", attempt=1,
        tx_id=f"tx-{op_id}", tx_ids=[f"tx-{op_id}"], proposal=b"p", fabric_user="User1",
        username="bsp1-operator", retry_until=moment + timedelta(hours=1),
        created_at=moment, updated_at=moment,
    )  # fmt: skip
