"""The market's services as writes on the registry chaincode, with the connector's checks.

As in `registry.py`: each method checks what the connector knows without the ledger (who the
user's organisation is, whose the resource is, which channel holds it), fills what the
connector fills, and returns a `Write`; the chaincode decides the rest (the gate, the lead
time, the accepted quantity, membership) and its refusal becomes the operation's outcome.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connector import esmp
from connector.errors import Forbidden, InvalidInput
from connector.org import OrgContext, Role
from connector.schemas import market as s
from connector.schemas.common import FieldError
from connector.services.accept import Write
from connector.services.registry import Located, RegistryService
from connector.store import series_files


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class MarketService:
    def __init__(self, org: OrgContext, registry: RegistryService) -> None:
        self.org = org
        self.registry = registry

    def _require(self, role: Role, what: str) -> None:
        me = self.org.me
        if me.role is not role:
            raise Forbidden(f"{what}; {me.name} is a {me.role.value}")

    # -- periods (the TSO) --------------------------------------------------------------------

    def open_period(self, body: s.MarketPeriodCreate, channel: str) -> Write:
        self._require(Role.TSO, "only the TSO opens market periods")
        data = body.ledger_json()
        period = body.periodId or f"MP-{body.deliveryStart[:16]}"
        data["periodId"] = period
        return Write(
            "Open Market Period",
            "OpenMarketPeriod",
            channel,
            f"period:{period}",
            "marketperiod",
            lambda _tx: ([_json(data)], period),
        )

    def move_gate(self, period: Located, body: s.GateChange) -> Write:
        self._require(Role.TSO, "only the TSO moves a market period's gate")
        return Write(
            "Move Market Gate",
            "MoveMarketGate",
            period.channel,
            f"period:{period.id}",
            "marketperiod",
            lambda _tx: ([period.id, _json(body.ledger_json())], period.id),
        )

    def advance_clock(self, period: Located, body: s.ClockChange) -> Write:
        self._require(Role.TSO, "only the TSO moves a demo market clock")
        return Write(
            "Advance Market Clock",
            "AdvanceMarketClock",
            period.channel,
            f"period:{period.id}",
            "marketperiod",
            lambda _tx: ([period.id, _json(body.ledger_json())], period.id),
        )

    # -- offers -------------------------------------------------------------------------------

    def submit_offer(self, uvam: Located, period: Located, body: s.OfferCreate) -> Write:
        self._require(Role.BSP, "only a BSP offers flexibility")
        self.registry.require_mine(uvam)
        if body.quantities is not None:
            quantities = [q.model_dump() for q in body.quantities]
        else:  # one quantity for each of the period's steps
            steps = int(period.record.get("steps") or 0)
            quantities = [{"position": p, "quantity": body.quantity} for p in range(1, steps + 1)]
        data = {
            "direction": body.direction.value,
            "periodId": body.periodId,
            "quantities": quantities,
            "resourceGroupId": uvam.id,
            "flexibilityServiceProviderId": self.org.me.eic,
        }
        given = body.offerId

        def build(tx_id: str) -> tuple[list[str], str]:
            offer_id = given or f"OFF-{tx_id[:24]}"
            return [_json({**data, "offerId": offer_id})], offer_id

        return Write(
            "Submit Offer",
            "SubmitOffer",
            uvam.channel,
            f"offers:{uvam.id}",
            "offer",
            build,
            transient={"price": _json(body.price.ledger_json())},
        )

    def offer_status(self, offer: Located, body: s.OfferStatusChange) -> Write:
        if body.status is s.OfferStatus.Withdrawn:
            self._require(Role.BSP, "only the BSP that made an offer withdraws it")
            self.registry.require_mine(offer)
        else:
            self._require(Role.TSO, f"only the TSO moves an offer to {body.status.value}")
        if body.status is s.OfferStatus.Rejected and not body.reason:
            raise InvalidInput(
                "a rejection needs a reason",
                fields=[FieldError(field="reason", rule="is mandatory to reject an offer")],
            )
        data = {"offerId": offer.id, **body.ledger_json()}
        return Write(
            "Update Offer Status",
            "UpdateOfferStatus",
            offer.channel,
            f"offers:{offer.record.get('resourceGroupId') or offer.id}",
            "offer",
            lambda _tx: ([_json(data)], offer.id),
        )

    # -- activations --------------------------------------------------------------------------

    def send_activation(self, offer: Located, body: s.ActivationCreate) -> Write:
        self._require(Role.TSO, "only the TSO sends activations")
        data = {**body.ledger_json(), "offerId": offer.id}
        given = body.activationId

        def build(tx_id: str) -> tuple[list[str], str]:
            activation_id = given or f"ACT-{tx_id[:24]}"
            return [_json({**data, "activationId": activation_id})], activation_id

        return Write(
            "Send Activation",
            "SendActivation",
            offer.channel,
            f"activations:{offer.id}",
            "activation",
            build,
        )

    def acknowledge(self, activation: Located) -> Write:
        self._require(Role.BSP, "only the BSP of the UVAM acknowledges an activation")
        self.registry.require_mine(activation)
        return Write(
            "Acknowledge Activation",
            "AcknowledgeActivation",
            activation.channel,
            f"activation:{activation.id}",
            "activation",
            lambda _tx: ([activation.id], activation.id),
        )

    def verify(self, activation: Located) -> Write:
        self._require(Role.TSO, "only the TSO verifies an activation")
        return Write(
            "Verify Activation",
            "VerifyActivation",
            activation.channel,
            f"activation:{activation.id}",
            "activation",
            lambda _tx: ([activation.id], activation.id),
        )

    # -- measurements -------------------------------------------------------------------------

    def upload(self, body: s.MeasurementUpload, channel: str) -> Write:
        if body.scope is s.SeriesScope.pod:
            self._require(Role.DSO, "POD measurements are the DSO's to upload")
            if body.resource is None:
                raise InvalidInput(
                    "a POD series names its POD",
                    fields=[FieldError(field="resource", rule="is mandatory for scope pod")],
                )
        else:
            self._require(Role.BSP, "behind-the-meter measurements are the BSP's to upload")
        resource = body.resource or body.resourceGroupId
        if body.scope is s.SeriesScope.aggregate and resource != body.resourceGroupId:
            raise InvalidInput(
                f"an aggregate series is UVAM {body.resourceGroupId}'s own, not {resource}'s",
                fields=[FieldError(field="resource", rule="must be the UVAM for scope aggregate")],
            )
        try:
            series = esmp.load(body.series)
            content, fp = esmp.fingerprint(series)
        except esmp.SeriesError as exc:
            fields = [FieldError(field=f"series.{w}", rule=r) for w, r in exc.fields]
            raise InvalidInput(str(exc), fields=fields) from None
        except ValueError as exc:
            raise InvalidInput(f"the series is not valid: {exc}") from None
        if series.resource != resource:
            raise InvalidInput(
                f"the series measures {series.resource}, not {resource}",
                fields=[
                    FieldError(field="series.registeredResource.mRID", rule=f"must be {resource}")
                ],
            )
        if body.sha256 is not None and body.sha256.lower() != fp.sha256:
            raise InvalidInput(
                f"sha256 {body.sha256.lower()} does not match the series: its canonical form "
                f"hashes to {fp.sha256}",
                fields=[FieldError(field="sha256", rule="must be the series' SHA-256")],
            )
        series_id = f"SER-{body.periodId}-{resource}"
        data = {
            **fp.anchor(),
            "periodId": body.periodId,
            "resourceGroupId": body.resourceGroupId,
            "resource": resource,
            "scope": body.scope.value,
        }
        if body.activationId is not None:
            data["activationId"] = body.activationId

        async def keep(session: AsyncSession) -> None:
            await series_files.keep(session, content, fp)

        return Write(
            "Upload Measurements",
            "AnchorSeries",
            channel,
            f"series:{series_id}",
            "series",
            lambda _tx: ([_json(data)], series_id),
            keep=keep,
        )

    # -- settlement ---------------------------------------------------------------------------

    def issue_statement(self, period: Located, body: s.StatementCreate) -> Write:
        self._require(Role.TSO, "only the TSO issues settlement statements")
        data = body.ledger_json()
        statement_id = f"STM-{period.id}-{body.flexibilityServiceProviderId}"
        return Write(
            "Issue Statement",
            "IssueStatement",
            period.channel,
            f"statement:{statement_id}",
            "statement",
            lambda _tx: ([_json(data)], statement_id),
        )
