"""`cbp network up`'s chaincode deployment on the embedded engine, through Fabric's own steps.

For every chaincode of every channel, as an operator does with the `peer` CLI on Fabric:
install the chaincode-as-a-service package on each peer that will run it; have each peer org's
admin approve the definition (an `ApproveChaincodeDefinitionForMyOrg` proposal, endorsed by that
org's peer: the approval goes to the org's implicit collection); then, once the approvals are
committed, commit the definition (`CommitChaincodeDefinition`, endorsed by every peer of the
channel, so the LifecycleEndorsement policy holds). The proposals are the `_lifecycle` system
chaincode's, signed by the orgs' admins and endorsed by the peers' real endorsers; only the
network hop is skipped. All channels go at once: two blocks per channel on a fresh ledger, none
when the ledgers already hold the definitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, transaction_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from .lifecycle import serializer as ser
from .lifecycle.definition import (
    NAMESPACE,
    NAMESPACES,
    SOURCES,
    ChaincodeDefinition,
    CommittedOrgHashes,
    definition_for,
    local_package_structure,
    private_name,
)
from .msp import SigningIdentity
from .protoutil import create_proposal, create_signed_tx

if TYPE_CHECKING:
    from .node import PeerNode
    from .orderer_service import Orderer

log = logging.getLogger(__name__)


class DeployError(RuntimeError):
    """A deployment step was refused; the message names the chaincode, channel and step."""


@dataclass(frozen=True)
class Wanted:
    channel: str
    definition: ChaincodeDefinition
    package_id: str


def wanted_definitions(topology: Any, package_ids: dict[str, str]) -> list[Wanted]:
    out = []
    for ch_name, ch in topology.channels.items():
        for cc_name in ch.chaincodes:
            cc = topology.chaincode_on(cc_name, ch_name)  # collections resolved per channel
            d = definition_for(
                cc_name, cc.version, cc.sequence, cc.endorsement, list(cc.collections)
            )
            out.append(Wanted(ch_name, d, package_ids[cc_name]))
    return out


def approved(peer: PeerNode, w: Wanted) -> bool:
    """Whether `peer`'s org already approved `w` with its package (from the hashes it holds)."""
    db = peer.channels[w.channel].ledger.state
    org = CommittedOrgHashes(db, peer.msp_id)
    pname = private_name(w.definition.name, w.definition.sequence)
    ok, _ = ser.is_serialized(NAMESPACES, pname, w.definition.parameters(), org)
    if not ok:
        return False
    ok, _ = ser.is_serialized(SOURCES, pname, local_package_structure(w.package_id), org)
    return ok


def _definition_args(d: ChaincodeDefinition, cls: Any) -> Any:
    return cls(
        sequence=d.sequence,
        name=d.name,
        version=d.version,
        validation_parameter=d.validation_parameter,
        collections=d.collections,
        init_required=d.init_required,
    )


async def _endorsed_tx(
    admin: SigningIdentity, channel: str, fn: str, arg: bytes, endorsers: list[PeerNode]
) -> tuple[bytes, str]:
    prop, txid = create_proposal(admin.serialize(), channel, NAMESPACE, [fn.encode(), arg])
    raw = prop.SerializeToString()
    signed = proposal_pb2.SignedProposal(proposal_bytes=raw, signature=admin.sign(raw))
    responses = []
    for peer in endorsers:
        response, err = await peer.endorser.process_proposal(signed)
        if err is not None or response.response.status != 200 or not response.endorsement:
            why = err or response.response.message
            raise DeployError(f"{fn} on channel {channel} refused by {peer.name}: {why}")
        responses.append(response)
    return create_signed_tx(prop, responses, admin.sign).SerializeToString(), txid


async def deploy(
    peers: list[PeerNode],
    orderer: Orderer,
    topology: Any,
    admins: dict[str, SigningIdentity],
    package_ids: dict[str, str],
    timeout: float = 30.0,
) -> list[str]:
    """Approve and commit every topology definition the ledgers lack; returns what it did."""
    done: list[str] = []
    to_commit: list[Wanted] = []
    approvals: list[tuple[str, str, str]] = []  # (channel, txid, what)
    for w in wanted_definitions(topology, package_ids):
        ch_peers = [p for p in peers if w.channel in p.channels]
        if not ch_peers:
            continue
        ledger = ch_peers[0].channels[w.channel].ledger
        current = ledger.chaincode_definition(w.definition.name)
        if current is not None and current.sequence >= w.definition.sequence:
            continue
        if current is None and ledger.get_state(NAMESPACE, _legacy_key(w.definition.name)):
            raise DeployError(
                f"channel {w.channel} holds the definition of {w.definition.name} as an earlier "
                "version of this engine recorded it, not as Fabric's _lifecycle does; "
                "`cbp network reset` starts a new network"
            )
        to_commit.append(w)
        one_per_org = list({p.msp_id: p for p in ch_peers}.values())
        for peer in one_per_org:
            if ledger.height > 1 and approved(peer, w):  # a new channel has approved nothing
                continue
            arg = _definition_args(
                w.definition, lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs
            )
            arg.source.local_package.package_id = w.package_id
            env, txid = await _endorsed_tx(
                admins[peer.msp_id],
                w.channel,
                "ApproveChaincodeDefinitionForMyOrg",
                arg.SerializeToString(),
                [peer],
            )
            await _broadcast(orderer, w.channel, env)
            what = f"{w.definition.name} approved by {peer.msp_id} on {w.channel}"
            approvals.append((w.channel, txid, what))
    await _settle(orderer, peers, approvals, timeout)
    done += [what for _, _, what in approvals]
    commits: list[tuple[str, str, str]] = []
    for w in to_commit:
        ch_peers = [p for p in peers if w.channel in p.channels]
        admin = admins.get(topology.bna.msp_id) or admins[ch_peers[0].msp_id]
        arg = _definition_args(w.definition, lifecycle_pb2.CommitChaincodeDefinitionArgs)
        env, txid = await _endorsed_tx(
            admin, w.channel, "CommitChaincodeDefinition", arg.SerializeToString(), ch_peers
        )
        await _broadcast(orderer, w.channel, env)
        what = (
            f"{w.definition.name} {w.definition.version} committed on {w.channel} "
            f"(sequence {w.definition.sequence})"
        )
        commits.append((w.channel, txid, what))
    await _settle(orderer, peers, commits, timeout)
    done += [what for _, _, what in commits]
    for what in done:
        log.info("chaincode %s", what)
    return done


def _legacy_key(name: str) -> str:
    """Where engines before `_lifecycle`'s own layout kept a whole definition."""
    return f"namespaces/fields/{name}/Definition"


async def _broadcast(orderer: Orderer, channel: str, env: bytes) -> None:
    status, info = await orderer.broadcast(env)
    if status != common_pb2.SUCCESS:
        raise DeployError(f"the orderer refused a deployment transaction on {channel}: {info}")


async def _settle(
    orderer: Orderer, peers: list[PeerNode], txs: list[tuple[str, str, str]], timeout: float
) -> None:
    """Cut the blocks now (no BatchTimeout wait at start-up) and wait until every peer of each
    channel committed each transaction VALID."""
    for ch in sorted({ch for ch, _, _ in txs}):
        await orderer.chains[ch].flush()
    deadline = time.monotonic() + timeout
    for ch, txid, what in txs:
        for peer in peers:
            pch = peer.channels.get(ch)
            if pch is None:
                continue
            left = deadline - time.monotonic()
            try:
                code, _ = await asyncio.wait_for(pch.tx_status(txid), max(left, 0.001))
            except TimeoutError:
                raise DeployError(
                    f"{what}: not committed by {peer.name} in {timeout:.0f}s"
                ) from None
            if code != transaction_pb2.VALID:
                name = transaction_pb2.TxValidationCode.Name(code)
                raise DeployError(f"{what}: {peer.name} committed it as {name}")
