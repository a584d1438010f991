"""The P2P market's writes on the trading chaincode, with the connector's checks.

Each method checks what the connector can know without the ledger (which role may do it, whose
EV it is, the request's own rules) and returns a `Write`, the same operation the registry's
services make: accepted at once, run behind, its outcome the chaincode's. The chaincode decides
the rest (eqs. 1-5: roles, required and available energy, a trade within what both EVs have
left, its cost; a trade's state), and its refusal becomes the operation's outcome, verbatim.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from connector.errors import Forbidden, InvalidInput
from connector.org import OrgContext, Role
from connector.schemas import trading as t
from connector.schemas.common import FieldError
from connector.services.accept import Write
from connector.services.registry import Located, RegistryService

SERVICES = {
    "parameters": "Set Market Parameters",
    "declare": "Declare EV",
    "trade": "Submit Trade",
    "confirm": "Confirm Trades",
    "reject": "Reject Trade",
}


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class TradingService:
    def __init__(self, org: OrgContext, registry: RegistryService) -> None:
        self.org = org
        self.registry = registry  # where a resource is (the mirror, or a pending operation)

    def _require(self, role: Role, what: str) -> None:
        me = self.org.me
        if me.role is not role:
            raise Forbidden(
                f"{what} is the {role.value}'s; this connector serves {me.name} ({me.role})"
            )

    def set_parameters(self, body: t.MarketParameters, channel: str) -> Write:
        self._require(Role.INFRA, "setting the market parameters")
        data = body.ledger_json()
        return Write(
            SERVICES["parameters"],
            "SetMarketParameters",
            channel,
            "parameters",
            "marketparams",
            lambda _tx: ([_json(data)], "in force"),
        )

    def declare_ev(self, body: t.EvDeclaration, channel: str, me: str) -> Write:
        """`me`: the caller's enrollment id, the owner of an EV user's EVs."""
        role = self.org.me.role
        if role is Role.EVUSER and body.owner not in (None, me):
            raise Forbidden(
                f"EV {body.evId}: an EV user declares its own EVs; owner {body.owner} is not {me}"
            )
        if role is Role.INFRA and body.owner is None:
            rule = "the operator declaring an EV names its owner (the EV user's enrollment id)"
            raise InvalidInput(
                f"EV {body.evId}: {rule}", fields=[FieldError(field="owner", rule=rule)]
            )
        if role not in (Role.EVUSER, Role.INFRA):
            raise Forbidden("declaring an EV is for EV users and the infrastructure operator")
        data = body.ledger_json()
        ev = body.evId
        return Write(
            SERVICES["declare"],
            "DeclareEv",
            channel,
            f"ev/{ev}",
            "ev",
            lambda _tx: ([_json(data)], ev),
        )

    def submit_trade(
        self, body: t.TradeCreate, channel: str, me: str, buyer: Located | None
    ) -> Write:
        """`buyer`: the buying EV as this connector knows it (None: not yet known here, the
        chaincode decides); a trade is its owner's to submit."""
        self._require(Role.EVUSER, "submitting a trade")
        owner = buyer.record.get("owner") if buyer is not None else None
        if owner is not None and owner != me:
            raise Forbidden(
                f"only EV {body.buyerId}'s owner ({owner}) submits trades as its buyer; the "
                f"caller is {me}"
            )
        data = body.ledger_json()
        given = body.tradeId

        def build(tx_id: str) -> tuple[list[str], str]:
            trade_id = given or f"TRD-{tx_id[:24]}"  # the id the chaincode derives, known now
            return [_json({**data, "tradeId": trade_id})], trade_id

        # after the buyer's declaration and its other trades, in the order they were sent
        return Write(
            SERVICES["trade"], "SubmitTrade", channel, f"ev/{body.buyerId}", "trade", build
        )

    def confirm(self, body: t.BatchCreate, channel: str) -> Write:
        self._require(Role.INFRA, "confirming trades")
        data = body.ledger_json()
        given = body.batchId

        def build(tx_id: str) -> tuple[list[str], str]:
            batch_id = given or f"BATCH-{tx_id[:24]}"
            return [_json({**data, "batchId": batch_id})], batch_id

        # batches never wait for each other: each writes only its own trades
        lane = f"batch/{given or uuid.uuid4().hex}"
        return Write(SERVICES["confirm"], "ConfirmTrades", channel, lane, "batch", build)

    def reject(self, trade: Located, body: t.Rejection) -> Write:
        self._require(Role.INFRA, "rejecting a trade")
        data = {"tradeId": trade.id, **body.ledger_json()}
        return Write(
            SERVICES["reject"],
            "RejectTrade",
            trade.channel,
            f"trade/{trade.id}",
            "trade",
            lambda _tx: ([_json(data)], trade.id),
        )
