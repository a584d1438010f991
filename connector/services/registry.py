"""The 14 CBP API services as writes on the registry chaincode, with the connector's checks.

Each method checks what the connector can know without the ledger (who the user is, whose the
resource is, which channel holds it), fills the header fields the seed makes the connector
send (receiver: the TSO; provider: this BSP; coding schemes), and returns a `Write`. The
registry chaincode decides the rest (lifecycle states, the DSO named on the POD, aggregation),
and its refusal becomes the operation's outcome, verbatim.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connector.errors import Conflict, Forbidden, InvalidInput, NotFound
from connector.org import OrgContext, Role
from connector.permissions import Action
from connector.schemas import registry as s
from connector.services.accept import Write
from connector.services.documents import Checked
from connector.store import resources
from connector.store.tables import Operation

SERVICES = {
    1: "Register Flex Resource",
    2: "Update Resource Information",
    3: "Create Attachment",
    4: "Update Attachment",
    5: "Update Resource Status",
    6: "Register Resource Group",
    7: "Update Resource Group",
    8: "Register Resource in Resource Group",
    9: "Create Attachment (UVAM)",
    10: "Update Attachment (UVAM)",
    11: "Register Connection",
    12: "Update Connection",
    13: "Update Resource Group Status",
    14: "End Relation",
}


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Located:
    """Where a known resource is, and whose it is."""

    def __init__(self, kind: str, rid: str, channel: str, record: dict[str, Any]) -> None:
        self.kind, self.id, self.channel, self.record = kind, rid, channel, record

    @property
    def owner(self) -> str | None:
        return self.record.get("flexibilityServiceProviderId")

    @property
    def dso(self) -> str | None:
        return self.record.get("distributionGridOperatorName")


class RegistryService:
    def __init__(self, org: OrgContext) -> None:
        self.org = org

    # -- where and whose ----------------------------------------------------------------------

    def home_channel(self, requested: str | None) -> str:
        channels = self.org.channels
        if requested is not None:
            if requested not in channels:
                raise InvalidInput(
                    f"channel {requested!r} is not one of this organisation's: "
                    f"{', '.join(channels)}"
                )
            return requested
        if len(channels) > 1:
            raise InvalidInput(f"say which channel: ?channel= one of {', '.join(channels)}")
        return channels[0]

    async def locate(
        self, session: AsyncSession, kind: str, rid: str, channel: str | None = None
    ) -> Located:
        """The resource in the mirror, or being created by an operation not yet committed."""
        copies = await resources.get(session, kind, rid, channel)
        if len(copies) > 1:
            raise Conflict(
                f"{kind} {rid} is on several channels ({', '.join(c.channel for c in copies)}); "
                "say which with ?channel=",
                code="AmbiguousChannel",
            )
        if copies:
            return Located(kind, rid, copies[0].channel, copies[0].data)
        query = select(Operation).where(
            Operation.resource_kind == kind,
            Operation.resource_id == rid,
            Operation.status != "failed",
        )
        if channel is not None:
            query = query.where(Operation.channel == channel)
        pending = (await session.execute(query.order_by(Operation.seq).limit(1))).scalar()
        if pending is not None:
            record = json.loads(pending.args[0]) if pending.args[0].startswith("{") else {}
            return Located(kind, rid, pending.channel, record)
        raise NotFound(f"{_label(kind)} {rid} is not known to this connector")

    def require_mine(self, found: Located) -> None:
        me = self.org.me
        if me.role is Role.BSP and found.owner not in (None, me.eic):
            raise Forbidden(
                f"{_label(found.kind)} {found.id} belongs to BSP {found.owner}, not to "
                f"{me.name} ({me.eic})"
            )
        if me.role is Role.DSO and found.dso not in (None, me.eic):
            raise Forbidden(
                f"{_label(found.kind)} {found.id} is in the grid of DSO {found.dso}, not of "
                f"{me.name} ({me.eic})"
            )

    def _provider(self, given: str | None) -> str:
        me = self.org.me
        if given is not None and given != me.eic:
            raise Forbidden(
                f"this connector registers {me.name}'s resources only; "
                f"flexibilityServiceProviderId {given} is another party's"
            )
        return me.eic

    def _header(self, body: s.Header) -> dict[str, Any]:
        data = body.ledger_json()
        data["flexibilityServiceProviderId"] = self._provider(body.flexibilityServiceProviderId)
        data.setdefault("receiverId", self.org.tso.eic)
        data.setdefault("registrationPeriod", int(time.time()))
        return data

    def _receiver(self, given: str | None) -> str:
        return given or self.org.tso.eic

    # -- POD registration ---------------------------------------------------------------------

    def register_pod(self, body: s.PodCreate, channel: str) -> Write:
        data = self._header(body)
        pod = body.meteringPointId
        return Write(
            SERVICES[1], "RegisterPod", channel, pod, "pod", lambda _tx: ([_json(data)], pod)
        )

    def update_pod(self, found: Located, body: s.PodUpdate) -> Write:
        self.require_mine(found)
        data = {"meteringPointId": found.id, **body.ledger_json()}
        return Write(
            SERVICES[2],
            "UpdatePod",
            found.channel,
            found.id,
            "pod",
            lambda _tx: ([_json(data)], found.id),
        )

    def register_device(self, pod: Located, body: s.DeviceCreate) -> Write:
        self.require_mine(pod)
        data = self._header(body)
        data["parentResourceId"] = pod.id
        device = body.resourceId
        return Write(
            SERVICES[1],
            "RegisterDevice",
            pod.channel,
            pod.id,
            "device",
            lambda _tx: ([_json(data)], device),
        )

    def update_device(self, device: Located, body: s.DeviceUpdate) -> Write:
        self.require_mine(device)
        data = {"resourceId": device.id, **body.ledger_json()}
        parent = str(device.record.get("parentResourceId") or device.id)
        return Write(
            SERVICES[2],
            "UpdateDevice",
            device.channel,
            parent,
            "device",
            lambda _tx: ([_json(data)], device.id),
        )

    def create_attachment(self, target: Located, body: s.AttachmentCreate, doc: Checked) -> Write:
        self.require_mine(target)
        data = body.ledger_json()
        data.pop("documentFile", None)
        data.update(
            {
                "senderId": self._provider(body.senderId),
                "receiverId": self._receiver(body.receiverId),
                "mimeType": doc.mime_type,
                "sha256": doc.sha256,
                "size": doc.size,
                "meteringPointId" if target.kind == "pod" else "resourceGroupId": target.id,
            }
        )
        service = SERVICES[3] if target.kind == "pod" else SERVICES[9]

        def build(tx_id: str) -> tuple[list[str], str]:
            attachment_id = f"ATT-{tx_id[:24]}"  # the id the registry derives, known in advance
            return [_json({**data, "attachmentId": attachment_id})], attachment_id

        return Write(
            service,
            "CreateAttachment",
            target.channel,
            target.id,
            "attachment",
            build,
            document=doc,
        )

    def update_attachment(
        self, attachment: Located, body: s.AttachmentUpdate, doc: Checked | None
    ) -> Write:
        self.require_mine(attachment)
        data = body.ledger_json()
        data.pop("documentFile", None)
        data["attachmentId"] = attachment.id
        if doc is not None:
            data.update({"mimeType": doc.mime_type, "sha256": doc.sha256, "size": doc.size})
        parent = str(attachment.record.get("targetId") or attachment.id)
        service = SERVICES[4] if attachment.record.get("targetEntity") != "UVAM" else SERVICES[10]
        return Write(
            service,
            "UpdateAttachment",
            attachment.channel,
            parent,
            "attachment",
            lambda _tx: ([_json(data)], attachment.id),
            document=doc,
        )

    def pod_status(self, pod: Located, body: s.PodStatusChange, allowed: set[Action]) -> Write:
        self.require_mine(pod)
        role = self.org.me.role
        wanted = body.status
        if role is Role.AUDITOR:
            raise Forbidden(f"the auditor reads only; it cannot move POD {pod.id} to {wanted}")
        mine = {
            Role.BSP: (
                {s.PodStatus.UnderReview},
                Action.register,
                "a BSP sends a POD for review (UnderReview)",
            ),
            Role.TSO: (
                {s.PodStatus.PreValidated, s.PodStatus.Rejected},
                Action.review,
                "the TSO pre-validates or rejects a POD under review",
            ),
            Role.DSO: (
                {s.PodStatus.Validated, s.PodStatus.Rejected},
                Action.validate,
                "the DSO validates or rejects a pre-validated POD of its grid",
            ),
        }[role]
        if wanted not in mine[0]:
            raise Forbidden(f"{mine[2]}; moving POD {pod.id} to {wanted} is not the {role}'s")
        if mine[1] not in allowed:
            raise Forbidden(f"this user may not {mine[1].value}")
        if body.constraints is not None and role is not Role.DSO:
            raise Forbidden("only the DSO's decision carries constraints")
        data = {"flexResourceId": pod.id, **body.ledger_json()}
        return Write(
            SERVICES[5],
            "UpdatePodStatus",
            pod.channel,
            pod.id,
            "pod",
            lambda _tx: ([_json(data)], pod.id),
        )

    def pod_constraints(self, pod: Located, body: s.DsoConstraints) -> Write:
        self.require_mine(pod)
        if self.org.me.role is not Role.DSO:
            raise Forbidden("only the DSO of the POD's grid sets its constraints")
        data = body.ledger_json()
        return Write(
            SERVICES[5],
            "SetPodConstraints",
            pod.channel,
            pod.id,
            "pod",
            lambda _tx: ([pod.id, _json(data)], pod.id),
        )

    # -- UVAM registration --------------------------------------------------------------------

    def register_uvam(self, body: s.UvamCreate, channel: str) -> Write:
        data = body.ledger_json()
        data["flexibilityServiceProviderId"] = self._provider(body.flexibilityServiceProviderId)
        data["receiverId"] = self._receiver(body.receiverId)
        given = body.resourceGroupId

        def build(tx_id: str) -> tuple[list[str], str]:
            uvam_id = given or f"UVAM-{tx_id[:24]}"
            return [_json({**data, "resourceGroupId": uvam_id})], uvam_id

        # a UVAM without an id has none until its transaction id is fixed: its lane is its own
        return Write(SERVICES[6], "RegisterUvam", channel, given or "new-uvam", "uvam", build)

    def update_uvam(self, uvam: Located, body: s.UvamUpdate) -> Write:
        self.require_mine(uvam)
        data = {"resourceGroupId": uvam.id, **body.ledger_json()}
        return Write(
            SERVICES[7],
            "UpdateUvam",
            uvam.channel,
            uvam.id,
            "uvam",
            lambda _tx: ([_json(data)], uvam.id),
        )

    def add_resource(self, uvam: Located, body: s.RelationCreate) -> Write:
        self.require_mine(uvam)
        data = {
            **body.ledger_json(),
            "resourceGroupId": uvam.id,
            "flexibilityServiceProviderId": self.org.me.eic,
            "flexibilityServiceProviderCodingSchemeType": "A01",
            "receiverId": self.org.tso.eic,
            "receiverCodingSchemeType": "A01",
        }
        # the relation id is the registry's, derived from the transaction id
        return Write(
            SERVICES[8],
            "RegisterResourceInGroup",
            uvam.channel,
            uvam.id,
            "relation",
            lambda tx: ([_json(data)], f"REL-{tx[:24]}"),
        )

    def end_relation(self, relation: Located, body: s.RelationEnd) -> Write:
        self.require_mine(relation)
        data = {"relationId": relation.id, **body.ledger_json()}
        lane = str(relation.record.get("resourceGroupId") or relation.id)
        return Write(
            SERVICES[14],
            "EndRelation",
            relation.channel,
            lane,
            "relation",
            lambda _tx: ([_json(data)], relation.id),
        )

    def register_connection(self, uvam: Located, body: s.ConnectionCreate) -> Write:
        self.require_mine(uvam)
        data = {
            **body.ledger_json(),
            "resourceGroupId": uvam.id,
            "flexibilityServiceProviderId": self.org.me.eic,
        }
        data["receiverId"] = self._receiver(body.receiverId)
        return Write(
            SERVICES[11],
            "RegisterConnection",
            uvam.channel,
            uvam.id,
            "connection",
            lambda _tx: ([_json(data)], uvam.id),
        )

    def update_connection(self, uvam: Located, body: s.ConnectionUpdate) -> Write:
        self.require_mine(uvam)
        data = {**body.ledger_json(), "resourceGroupId": uvam.id}
        return Write(
            SERVICES[12],
            "UpdateConnection",
            uvam.channel,
            uvam.id,
            "connection",
            lambda _tx: ([_json(data)], uvam.id),
        )

    def uvam_status(self, uvam: Located, body: s.UvamStatusChange, allowed: set[Action]) -> Write:
        self.require_mine(uvam)
        role = self.org.me.role
        if role is Role.BSP:
            ok, action = body.status is s.UvamStatus.UnderReview, Action.register
            rule = "a BSP sends its UVAM for qualification (UnderReview)"
        elif role is Role.TSO:
            ok = body.status in (s.UvamStatus.Qualified, s.UvamStatus.Rejected)
            action, rule = Action.review, "the TSO qualifies or rejects a UVAM under review"
        elif role is Role.DSO:
            ok, action, rule = False, Action.review, "a DSO takes no part in UVAM qualification"
        else:
            ok, action, rule = False, Action.review, "the auditor reads only"
        if not ok:
            raise Forbidden(f"{rule}; moving UVAM {uvam.id} to {body.status} is not the {role}'s")
        if action not in allowed:
            raise Forbidden(f"this user may not {action.value}")
        data = {"resourceGroupId": uvam.id, **body.ledger_json()}
        return Write(
            SERVICES[13],
            "UpdateUvamStatus",
            uvam.channel,
            uvam.id,
            "uvam",
            lambda _tx: ([_json(data)], uvam.id),
        )

    # -- participants (the BNA) ---------------------------------------------------------------

    def admit(self, body: s.ParticipantCreate, channel: str) -> Write:
        if self.org.me.role is not Role.TSO:
            raise Forbidden("only the TSO, the Business Network Administrator, admits participants")
        data = body.ledger_json()
        return Write(
            "Admit Participant",
            "AdmitParticipant",
            channel,
            "participants",
            "participant",
            lambda _tx: ([_json(data)], body.mspId),
        )


def _label(kind: str) -> str:
    labels = {
        "pod": "POD",
        "uvam": "UVAM",
        "device": "flex device",
        "ev": "EV",
        "marketperiod": "market period",
    }
    return labels.get(kind, kind)
