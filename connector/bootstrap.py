"""Leave the registry ready to use: the BNA admits the TSO, the DSOs and each BSP on every
channel that runs the registry, as the topology places them. Idempotent: a participant already
admitted is left as it is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.ledger import LedgerRefused, translate
from connector.org import REGISTRY, Party, Role, party_of
from gateway import GatewayClientError
from gateway.aio import Gateway, from_profile
from gateway.endpoints import read_profile

Say = Callable[[str], None]


@dataclass(frozen=True)
class Admission:
    channel: str
    msp_id: str
    admitted: bool  # False: it was already


def _participant(p: Party) -> dict[str, Any]:
    body: dict[str, Any] = {"mspId": p.msp_id, "eic": p.eic, "role": p.role.value, "name": p.name}
    if p.distributor_code is not None:
        body["distributorCode"] = p.distributor_code
    return body


async def _admit(gw: Gateway, channel: str, party: Party) -> Admission:
    contract = gw.get_network(channel).get_contract(REGISTRY)
    try:
        await contract.evaluate_transaction("ReadParticipant", party.msp_id)
        return Admission(channel, party.msp_id, False)
    except GatewayClientError as exc:
        refused = translate(exc, "ReadParticipant")
        if not (isinstance(refused, LedgerRefused) and refused.status in (403, 404)):
            raise refused from exc
    try:
        await contract.submit_transaction("AdmitParticipant", json.dumps(_participant(party)))
    except GatewayClientError as exc:
        refused = translate(exc, f"admission of {party.msp_id} on {channel}")
        if isinstance(refused, LedgerRefused) and refused.code == "AlreadyExists":
            return Admission(channel, party.msp_id, False)
        raise refused from exc
    return Admission(channel, party.msp_id, True)


async def admit_all(profile_path: Path, say: Say = lambda _m: None) -> list[Admission]:
    profile = read_profile(profile_path)
    orgs: dict[str, Any] = profile["organizations"]
    parties = {k: p for k, o in orgs.items() if (p := party_of(k, o)) is not None}
    bna = next((k for k, p in parties.items() if p.role is Role.TSO), None)
    if bna is None:
        raise ValueError("the network has no TSO organisation to act as the BNA")
    done: list[Admission] = []
    gw = from_profile(bna, "User1", profile_path)
    try:
        for channel, spec in sorted(profile["channels"].items()):
            if REGISTRY not in spec.get("chaincodes", []):
                continue
            # the auditor reads the ledger and takes no part in the registry
            members = [
                parties[k]
                for k in spec["orgs"]
                if k in parties and parties[k].role is not Role.AUDITOR
            ]
            # the TSO admits itself first: the registry's bootstrap rule
            members.sort(key=lambda p: p.role is not Role.TSO)
            first, rest = members[0], members[1:]
            done.append(await _admit(gw, channel, first))
            done += await asyncio.gather(*(_admit(gw, channel, p) for p in rest))
    finally:
        await gw.close()
    new = [a for a in done if a.admitted]
    say(
        f"registry ready: {len(new)} participant admissions made, "
        f"{len(done) - len(new)} already in place"
    )
    return done
