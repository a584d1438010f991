"""Measurement series anchors: what the ledger keeps of a series that stays off-chain.

The BSP anchors behind-the-meter series of a UVAM (its aggregate, and each member device);
the DSO anchors the series of the UVAM's PODs in its grid. An anchor holds the series'
SHA-256, size, resolution, interval and energy per 15-minute step: enough for anyone holding
the series to check it (``cbp audit series``) and to redo the verification. One series per
resource and market period: a second upload is refused.
"""

from __future__ import annotations

from typing import Any

from . import aggregate, lifecycle, periods, pods, uvams
from .access import can_read, require_read
from .errors import AlreadyExists, InvalidArgument, NotFound, WrongState
from .fields import build, label_of
from .ledger import ACTIVATION, DEVICE, SERIES, SERIES_BY_UVAM, Tx, page_result
from .market_models import SeriesIn
from .markettime import SeriesScope, SeriesStatus, market_now, parse, text
from .participants import resolve

DSO_FIELD = lifecycle.DSO_FIELD


def entity_of(scope: str) -> str:
    return lifecycle.POD_SERIES if scope == SeriesScope.POD else lifecycle.METER_SERIES


def series_id(period_id: str, resource: str) -> str:
    return f"SER-{period_id}-{resource}"


def _measured_already(tx: Tx, record: dict[str, Any]) -> None:
    period = periods.load(tx, record["periodId"])
    now = market_now(tx, period)
    if parse(record["end"]) > now:
        raise WrongState(
            f"series {record['seriesId']} ends at {record['end']}, after the market time "
            f"{text(now)}; measurements are anchored once measured"
        )


@lifecycle.guard(lifecycle.METER_SERIES, "the UVAM's own resource")
def _own_resource(tx: Tx, record: dict[str, Any]) -> None:
    uvam_id, resource = record["resourceGroupId"], record["resource"]
    if record["scope"] == SeriesScope.AGGREGATE:
        if resource != uvam_id:
            raise InvalidArgument(
                f"series {record['seriesId']}: an aggregate series is UVAM {uvam_id}'s own; its "
                f"resource must be {uvam_id}, not {resource}"
            )
    else:
        device = tx.get(DEVICE, resource)
        if device is None:
            raise NotFound(f"flex device {resource} is not registered")
        if not aggregate.holds_device(tx, aggregate.active_relations(tx, uvam_id), device):
            raise InvalidArgument(
                f"series {record['seriesId']}: flex device {resource} is not a member of UVAM "
                f"{uvam_id} (neither itself nor its POD {device['parentResourceId']})"
            )
    _measured_already(tx, record)


@lifecycle.guard(lifecycle.POD_SERIES, "a POD of the UVAM")
def _uvam_pod(tx: Tx, record: dict[str, Any]) -> None:
    uvam_id, pod_id = record["resourceGroupId"], record["resource"]
    if not aggregate.holds_pod(aggregate.active_relations(tx, uvam_id), pod_id):
        raise InvalidArgument(
            f"series {record['seriesId']}: POD {pod_id} is not in UVAM {uvam_id} (neither "
            "itself nor any of its flex devices)"
        )
    _measured_already(tx, record)


def anchor(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    actor = resolve(tx)
    request = build(SeriesIn, data, label_of("series of", data, "resource"))
    sid = series_id(request.periodId, request.resource)
    uvam = uvams.load(tx, request.resourceGroupId)
    entity = entity_of(request.scope)
    record: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
    record.update(
        {
            "createdAt": tx.timestamp,
            "docType": "series",
            "energyTotal": round(sum(request.stepEnergies), 3),
            "flexibilityServiceProviderId": uvam["flexibilityServiceProviderId"],
            "seriesId": sid,
            "uploadedBy": actor.eic,
        }
    )
    if request.scope == SeriesScope.POD:
        record[DSO_FIELD] = pods.load(tx, request.resource)[DSO_FIELD]
    lifecycle.authorize(
        lifecycle.creation(entity),
        sid,
        actor,
        record["flexibilityServiceProviderId"],
        record.get(DSO_FIELD),
    )
    _check_activation(tx, request)
    period = periods.load(tx, request.periodId)
    if request.start < period["deliveryStart"] or request.end > period["deliveryEnd"]:
        raise InvalidArgument(
            f"series {sid}: {request.start} to {request.end} is outside market period "
            f"{request.periodId} ({period['deliveryStart']} to {period['deliveryEnd']})"
        )
    earlier = tx.get(SERIES, sid)
    if earlier is not None:
        raise AlreadyExists(
            f"a series of {request.resource} for market period {request.periodId} is already "
            f"anchored as {sid} (sha256 {earlier['sha256'][:12]}...); a series is uploaded once"
        )
    lifecycle.transition(tx, entity, record, SeriesStatus.ANCHORED)
    tx.put_index(SERIES_BY_UVAM, request.periodId, request.resourceGroupId, request.scope, sid)
    return record


def _check_activation(tx: Tx, request: SeriesIn) -> None:
    """A series uploaded for an activation must be of that activation's UVAM and period."""
    if request.activationId is None:
        return
    activation = tx.get(ACTIVATION, request.activationId)
    if activation is None:
        raise NotFound(f"activation {request.activationId} does not exist")
    for field, given in (
        ("resourceGroupId", request.resourceGroupId),
        ("periodId", request.periodId),
    ):
        if activation[field] != given:
            raise InvalidArgument(
                f"series of {request.resource}: activation {request.activationId} is for "
                f"{field} {activation[field]}, not {given}"
            )


def of_uvam(tx: Tx, period_id: str, uvam_id: str, scope: str) -> list[dict[str, Any]]:
    ids = list(tx.index_ids(SERIES_BY_UVAM, period_id, uvam_id, scope))
    tx.prefetch(*((SERIES, i) for i in ids))
    return [r for r in (tx.get(SERIES, i) for i in ids) if r is not None]


def read(tx: Tx, sid: str) -> dict[str, Any]:
    actor = resolve(tx)
    record = tx.get(SERIES, sid)
    if record is None:
        raise NotFound(f"series {sid} is not anchored")
    require_read(actor, "series", sid, record)
    return record


def list_by_uvam(
    tx: Tx, period_id: str, uvam_id: str, page_size: int, bookmark: str
) -> dict[str, Any]:
    actor = resolve(tx)
    ids, next_bookmark, fetched = tx.index_page(
        SERIES_BY_UVAM, [period_id, uvam_id], page_size, bookmark
    )
    tx.prefetch(*((SERIES, i) for i in ids))
    records = [r for r in (tx.get(SERIES, i) for i in ids) if r is not None and can_read(actor, r)]
    return page_result(records, next_bookmark, fetched)
