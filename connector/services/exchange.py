"""Attachments' documents between organisations (see `connector/exchange.py` for the signature).

Asking: a document this connector does not hold is fetched from the connector of the
organisation that uploaded it, checked against the ledger's SHA-256 and by content, and kept,
so the next reader gets it from here. Answering: a signed request is served when the asking
organisation may see the POD the attachment belongs to.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connector import exchange
from connector.errors import ApiError, Conflict, Forbidden, NotFound
from connector.ledger import Ledger
from connector.org import OrgContext, Party, Role
from connector.services import documents
from connector.store.database import Database
from connector.store.tables import Document, Resource
from gateway.audit import member_ca_certificates

_CAS_SECONDS = 300.0  # how long the channels' member CAs are trusted before they are read again
_TIMEOUT = 15.0


class PeerUnreachable(ApiError):
    status, code = 503, "OrganisationUnreachable"


class DocumentExchange:
    def __init__(self, org: OrgContext, ledger: Ledger, db: Database) -> None:
        self._org = org
        self._ledger = ledger
        self._db = db
        self._cas: dict[str, list[x509.Certificate]] = {}
        self._cas_at = float("-inf")
        self._cas_lock = asyncio.Lock()

    # -- answering --------------------------------------------------------------------------

    async def member_cas(self) -> dict[str, list[x509.Certificate]]:
        """Every member MSP's CAs on this organisation's channels, from their config blocks."""
        async with self._cas_lock:
            if time.monotonic() - self._cas_at > _CAS_SECONDS:
                found: dict[str, list[x509.Certificate]] = {}
                for channel in self._org.channels:
                    block = await self._ledger.config_block("User1", channel)
                    for msp_id, certs in member_ca_certificates(block).items():
                        found.setdefault(msp_id, []).extend(certs)
                self._cas, self._cas_at = found, time.monotonic()
            return self._cas

    async def answer(
        self, session: AsyncSession, requester: exchange.Requester, digest: str
    ) -> documents.Checked:
        """The document, if `requester` may see a POD it is attached to."""
        party = self._org.party_by_msp(requester.msp_id)
        attachments = (
            (
                await session.execute(
                    select(Resource).where(
                        Resource.kind == "attachment",
                        Resource.data["sha256"].as_string() == digest,
                    )
                )
            )
            .scalars()
            .all()
        )
        doc = await session.get(Document, digest)
        if doc is None or not attachments:
            raise NotFound(f"document {digest}: this connector does not hold it")
        for attachment in attachments:
            if party is not None and await self._may_see(session, party, attachment):
                return documents.Checked(doc.content, doc.sha256, doc.mime_type, doc.filename)
        raise Forbidden(
            f"document {digest}: {requester.msp_id} may not see the POD it is attached to"
        )

    async def _may_see(self, session: AsyncSession, party: Party, attachment: Resource) -> bool:
        if party.role in (Role.TSO, Role.AUDITOR):
            return True
        if party.role is Role.BSP:
            return party.eic == attachment.owner_eic
        if party.role is Role.DSO and attachment.parent_id:
            pod = (
                await session.execute(
                    select(Resource.dso_eic).where(
                        Resource.kind == "pod",
                        Resource.id == attachment.parent_id,
                        Resource.channel == attachment.channel,
                    )
                )
            ).scalar_one_or_none()
            return pod == party.eic
        return False

    # -- asking -----------------------------------------------------------------------------

    async def fetch(self, attachment: Resource, digest: str) -> documents.Checked:
        """The document from its uploader's connector, checked and kept here."""
        owner = self._org.party_by_eic(attachment.owner_eic or "")
        if owner is None or not owner.connector_url or owner.key == self._org.me.key:
            raise NotFound(
                f"attachment {attachment.id}: this connector does not hold its document, and "
                "no other organisation's connector is known to"
            )
        path = f"/exchange/documents/{digest}"
        at = int(time.time())
        msp_id = self._org.me.msp_id
        certificate, signature = await self._ledger.sign(
            "User1", exchange.signed_text("GET", path, at, msp_id)
        )
        headers = exchange.headers(certificate, msp_id, at, signature)
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
                reply = await client.get(owner.connector_url + path, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerUnreachable(
                f"attachment {attachment.id}: the document is kept by {owner.name}'s connector "
                f"({owner.connector_url}), which did not answer: {type(exc).__name__}"
            ) from None
        if reply.status_code != 200:
            raise _refusal(attachment.id, owner, reply)
        checked = documents.check(reply.content, None)
        if checked.sha256 != digest:
            raise Conflict(
                f"attachment {attachment.id}: {owner.name}'s connector sent a document whose "
                "SHA-256 is not the ledger's",
                code="HashMismatch",
            )
        checked = replace(checked, filename=_filename(reply.headers.get("Content-Disposition")))
        async with self._db.session() as session:
            await documents.keep(session, checked)
            await session.commit()
        return checked


def _filename(disposition: str | None) -> str | None:
    if not disposition or 'filename="' not in disposition:
        return None
    return disposition.split('filename="', 1)[1].split('"', 1)[0] or None


def _refusal(attachment_id: str, owner: Party, reply: httpx.Response) -> ApiError:
    try:
        message = str(reply.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {reply.status_code}"
    said = f"attachment {attachment_id}: {owner.name}'s connector refused: {message}"
    if reply.status_code in (401, 403):
        return Forbidden(said)
    if reply.status_code == 404:
        return NotFound(said)
    return PeerUnreachable(said)
