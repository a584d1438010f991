"""One connector's running parts, made from its settings, started and stopped with the app.

settings -> org (from the connection profile) -> database (migrated) -> ledger door
         -> runner (operations) + event sync (per channel) + webhook deliveries + bus
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from connector import auth
from connector.bus import Bus
from connector.feeds import feed_of
from connector.ledger import Ledger
from connector.org import OrgContext, Role, load_org
from connector.runner import Runner
from connector.services.accept import Acceptor
from connector.services.exchange import DocumentExchange
from connector.services.market import MarketService
from connector.services.registry import RegistryService
from connector.services.trading import TradingService
from connector.settings import ConnectorSettings
from connector.store import operations, users
from connector.store.database import Database
from connector.store.tables import Operation, User
from connector.sync import EventSync
from connector.sync_writesets import WriteSetSync
from connector.throttle import LogInThrottle
from connector.webhooks import Deliveries

log = logging.getLogger(__name__)


class Connector:
    def __init__(self, settings: ConnectorSettings, org: OrgContext | None = None) -> None:
        self.settings = settings
        self.org = org or load_org(settings.org, settings.profile_path)
        settings.folder.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database)
        self.ledger = Ledger(self.org, settings.ledger_timeout_seconds)
        self.bus = Bus()
        self.tokens = auth.Tokens(
            auth.token_key(settings.folder),
            f"cbp-connector:{self.org.me.key}",
            settings.token_minutes,
        )
        self._webhook_wake = asyncio.Event()
        self.deliveries = Deliveries(self.db, settings.webhook_attempts, self._webhook_wake)
        self.runner = Runner(
            self.db, self.ledger, settings.submit_concurrency, self._final, self.deliveries
        )
        self.acceptor = Acceptor(
            self.db, self.ledger, self.runner, self.bus, settings.retry_for_seconds
        )
        self.registry = RegistryService(self.org)
        self.exchange = DocumentExchange(self.org, self.ledger, self.db)
        self.trading = TradingService(self.org, self.registry)
        self.market = MarketService(self.org, self.registry)
        # an org that may not query chaincode (the auditor), and a chaincode whose events do not
        # name every record they change (the P2P market's), file records from write sets
        from_writes = (
            self.org.me.role is Role.AUDITOR or feed_of(self.org.chaincode).from_write_sets
        )
        sync = WriteSetSync if from_writes else EventSync
        self.sync = sync(
            self.db, self.ledger, self.org, self.runner, self.bus.publish, self.deliveries
        )
        self._tasks: list[asyncio.Task[Any]] = []
        self.user_cache: dict[str, tuple[float, User | None]] = {}
        self.throttle = LogInThrottle()
        self.demo_logins: dict[str, str] = {}

    async def _final(self, op: Operation) -> None:
        self.bus.publish("operation", lambda: operations.out(op).model_dump(mode="json"))

    async def start(self) -> None:
        await self.db.migrate()
        if self.settings.demo_users:
            async with self.db.session() as session:
                self.demo_logins = await users.ensure_demo_users(
                    session,
                    self.org.me.key,
                    self.org.me.name,
                    self.org.me.role.value,
                    self.settings.folder,
                )
                await session.commit()
        await self.deliveries.load()
        left = await self.runner.recover()
        if left:
            log.info("resuming %d operations left unfinished", left)
        for channel in self.org.channels:
            self._spawn(self.sync.run(channel), f"events of {channel}")
        self._spawn(self.deliveries.run(), "webhook deliveries")

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def stop(self) -> None:
        await self.runner.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.deliveries.close()
        await self.ledger.close()
        await self.db.close()
