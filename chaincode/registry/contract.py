"""RegistryContract: the registry's transactions on the chaincode runtime.

Each transaction is thin: it builds a ``Tx`` from the context (the caller as its certificate
says), hands it to the entity module that checks and writes, sets the one chaincode event,
and translates ``RegistryError`` into ``ChaincodeError`` with its HTTP-like status at this
single boundary. JSON arguments are taken as bytes so that non-UTF-8 and malformed JSON are
refused with the registry's own messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from cryptography.x509.oid import NameOID

from chaincode.runtime import ChaincodeConfig, ChaincodeError, Context, Contract, transaction
from chaincode.runtime.arguments import load_json

from . import attachments, connections, devices, participants, pods, relations, uvams
from .errors import RegistryError
from .ledger import (
    POD_BY_DSO,
    POD_BY_OWNER,
    POD_BY_STATUS,
    UVAM_BY_OWNER,
    UVAM_BY_STATUS,
    Caller,
    Tx,
)
from .market_contract import MarketTransactions

log = logging.getLogger(__name__)

T = TypeVar("T")
Record = dict[str, Any]
Page = dict[str, Any]


def caller_of(ctx: Context) -> Caller:
    identity = ctx.client_identity
    organizational_units = identity.get_x509_certificate().subject.get_attributes_for_oid(
        NameOID.ORGANIZATIONAL_UNIT_NAME
    )
    return Caller(
        msp_id=identity.get_msp_id(),
        client_id=identity.get_id(),
        role_attr=identity.get_attribute_value("role"),
        eic_attr=identity.get_attribute_value("eic"),
        is_admin=any(str(ou.value).lower() == "admin" for ou in organizational_units),
    )


class RegistryContract(MarketTransactions, Contract):
    """PODs, flex devices, attachments, UVAMs, relations and connections, with lifecycles;
    and the market after registration (``MarketTransactions``)."""

    name = "registry"
    info: ClassVar[dict[str, Any]] = {
        "title": "CBP flexibility registry",
        "version": "0.1.0",
        "description": "PODs, flex devices, UVAMs and their validation lifecycles; bidding, "
        "activation, verification and settlement",
    }
    # The MSP whose TSO identity may bootstrap the registry as its BNA (see participants.py):
    # the organisation the chaincode's configuration marks bna, learnt once at start.
    bna_msp_id: str = ""

    def configure(self, config: ChaincodeConfig) -> None:
        super().configure(config)
        self.bna_msp_id = config.bna().msp_id

    def _run(self, ctx: Context, work: Callable[[Tx], T]) -> T:
        tx = Tx(ctx.stub, caller_of(ctx))
        try:
            result = work(tx)
        except RegistryError as exc:
            log.debug("registry refused tx %s: %s", tx.tx_id, exc.category)
            raise ChaincodeError(str(exc), exc.status) from exc
        tx.emit()
        return result

    def _json(
        self,
        ctx: Context,
        function: str,
        argument: str,
        raw: bytes,
        work: Callable[[Tx, Record], T],
    ) -> T:
        def run(tx: Tx) -> T:
            return work(tx, load_json(raw, function, argument))

        return self._run(ctx, run)

    # --- participants -----------------------------------------------------------------------

    @transaction()
    def AdmitParticipant(self, ctx: Context, participant: bytes) -> Record:
        return self._json(
            ctx,
            "AdmitParticipant",
            "participant",
            participant,
            lambda tx, d: participants.admit(tx, d, self.bna_msp_id),
        )

    @transaction(evaluate=True)
    def ReadParticipant(self, ctx: Context, mspId: str) -> Record:
        return self._run(ctx, lambda tx: participants.read(tx, mspId))

    @transaction(evaluate=True)
    def ListParticipants(self, ctx: Context, pageSize: int, bookmark: str = "") -> Page:
        return self._run(ctx, lambda tx: participants.list_page(tx, pageSize, bookmark))

    @transaction(evaluate=True)
    def WhoAmI(self, ctx: Context) -> Record:
        return self._run(ctx, lambda tx: participants.resolve(tx).as_json())

    # --- PODs ---------------------------------------------------------------------------------

    @transaction()
    def RegisterPod(self, ctx: Context, pod: bytes) -> Record:
        return self._json(ctx, "RegisterPod", "pod", pod, pods.register)

    @transaction()
    def UpdatePod(self, ctx: Context, pod: bytes) -> Record:
        return self._json(ctx, "UpdatePod", "pod", pod, pods.update)

    @transaction()
    def UpdatePodStatus(self, ctx: Context, update: bytes) -> Record:
        return self._json(ctx, "UpdatePodStatus", "update", update, pods.update_status)

    @transaction()
    def SetPodConstraints(self, ctx: Context, podId: str, constraints: bytes) -> Record:
        return self._json(
            ctx,
            "SetPodConstraints",
            "constraints",
            constraints,
            lambda tx, d: pods.set_constraints(tx, podId, d),
        )

    @transaction(evaluate=True)
    def ReadPod(self, ctx: Context, podId: str) -> Record:
        return self._run(ctx, lambda tx: pods.read(tx, podId))

    @transaction(evaluate=True)
    def GetPodHistory(self, ctx: Context, podId: str) -> list[Record]:
        return self._run(ctx, lambda tx: pods.history(tx, podId))

    @transaction(evaluate=True)
    def ListPodsByOwner(
        self, ctx: Context, ownerEic: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(
            ctx, lambda tx: pods.list_by(tx, POD_BY_OWNER, ownerEic, pageSize, bookmark)
        )

    @transaction(evaluate=True)
    def ListPodsByStatus(
        self, ctx: Context, status: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(
            ctx, lambda tx: pods.list_by(tx, POD_BY_STATUS, status, pageSize, bookmark)
        )

    @transaction(evaluate=True)
    def ListPodsByDso(self, ctx: Context, dsoEic: str, pageSize: int, bookmark: str = "") -> Page:
        return self._run(ctx, lambda tx: pods.list_by(tx, POD_BY_DSO, dsoEic, pageSize, bookmark))

    # --- flex devices -------------------------------------------------------------------------

    @transaction()
    def RegisterDevice(self, ctx: Context, device: bytes) -> Record:
        return self._json(ctx, "RegisterDevice", "device", device, devices.register)

    @transaction()
    def UpdateDevice(self, ctx: Context, device: bytes) -> Record:
        return self._json(ctx, "UpdateDevice", "device", device, devices.update)

    @transaction(evaluate=True)
    def ReadDevice(self, ctx: Context, deviceId: str) -> Record:
        return self._run(ctx, lambda tx: devices.read(tx, deviceId))

    @transaction(evaluate=True)
    def ListDevicesByPod(self, ctx: Context, podId: str, pageSize: int, bookmark: str = "") -> Page:
        return self._run(ctx, lambda tx: devices.list_by_pod(tx, podId, pageSize, bookmark))

    # --- attachments --------------------------------------------------------------------------

    @transaction()
    def CreateAttachment(self, ctx: Context, attachment: bytes) -> Record:
        return self._json(ctx, "CreateAttachment", "attachment", attachment, attachments.create)

    @transaction()
    def UpdateAttachment(self, ctx: Context, attachment: bytes) -> Record:
        return self._json(ctx, "UpdateAttachment", "attachment", attachment, attachments.update)

    @transaction(evaluate=True)
    def ReadAttachment(self, ctx: Context, attachmentId: str) -> Record:
        return self._run(ctx, lambda tx: attachments.read(tx, attachmentId))

    # --- UVAMs --------------------------------------------------------------------------------

    @transaction()
    def RegisterUvam(self, ctx: Context, uvam: bytes) -> Record:
        return self._json(ctx, "RegisterUvam", "uvam", uvam, uvams.register)

    @transaction()
    def UpdateUvam(self, ctx: Context, uvam: bytes) -> Record:
        return self._json(ctx, "UpdateUvam", "uvam", uvam, uvams.update)

    @transaction()
    def UpdateUvamStatus(self, ctx: Context, update: bytes) -> Record:
        return self._json(ctx, "UpdateUvamStatus", "update", update, uvams.update_status)

    @transaction(evaluate=True)
    def ReadUvam(self, ctx: Context, uvamId: str) -> Record:
        return self._run(ctx, lambda tx: uvams.read(tx, uvamId))

    @transaction(evaluate=True)
    def GetUvamHistory(self, ctx: Context, uvamId: str) -> list[Record]:
        return self._run(ctx, lambda tx: uvams.history(tx, uvamId))

    @transaction(evaluate=True)
    def ListUvamsByOwner(
        self, ctx: Context, ownerEic: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(
            ctx, lambda tx: uvams.list_by(tx, UVAM_BY_OWNER, ownerEic, pageSize, bookmark)
        )

    @transaction(evaluate=True)
    def ListUvamsByStatus(
        self, ctx: Context, status: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(
            ctx, lambda tx: uvams.list_by(tx, UVAM_BY_STATUS, status, pageSize, bookmark)
        )

    # --- relations and connections ------------------------------------------------------------

    @transaction()
    def RegisterResourceInGroup(self, ctx: Context, relation: bytes) -> Record:
        return self._json(ctx, "RegisterResourceInGroup", "relation", relation, relations.register)

    @transaction()
    def EndRelation(self, ctx: Context, relation: bytes) -> Record:
        return self._json(ctx, "EndRelation", "relation", relation, relations.end)

    @transaction(evaluate=True)
    def ReadRelation(self, ctx: Context, relationId: str) -> Record:
        return self._run(ctx, lambda tx: relations.read(tx, relationId))

    @transaction(evaluate=True)
    def ListRelationsByUvam(
        self, ctx: Context, uvamId: str, pageSize: int, bookmark: str = ""
    ) -> Page:
        return self._run(ctx, lambda tx: relations.list_by_uvam(tx, uvamId, pageSize, bookmark))

    @transaction()
    def RegisterConnection(self, ctx: Context, connection: bytes) -> Record:
        return self._json(ctx, "RegisterConnection", "connection", connection, connections.register)

    @transaction()
    def UpdateConnection(self, ctx: Context, connection: bytes) -> Record:
        return self._json(ctx, "UpdateConnection", "connection", connection, connections.update)

    @transaction(evaluate=True)
    def ReadConnection(self, ctx: Context, uvamId: str) -> Record:
        return self._run(ctx, lambda tx: connections.read(tx, uvamId))
