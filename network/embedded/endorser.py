"""ProcessProposal as Fabric's endorser does it (`core/endorser/endorser.go`, `msgvalidation.go`).

Unpack → validate (header type, epoch, nonce, creator, txid, signature, creator through the
channel's MSPs) → duplicate txid → channel Writers ACL for application chaincodes → chaincode
definition → simulate on this peer's own chaincode stream → ProposalResponsePayload signed with
this peer's identity. Like Fabric, the result is a (response, error) pair: an error means the
proposal itself was refused (gRPC error for remote callers), a 500 response without error means
the chaincode or its launch failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2

from . import lifecycle, syscc
from .chaincode_handler import HandlerError, TransactionContext
from .chaincode_support import ChaincodeExecutionError
from .msp import Identity, MSPError
from .policies import SignedData
from .protoutil import ParsedProposal, compute_txid, unpack_proposal
from .rwset import RwsetError

if TYPE_CHECKING:
    from .channelconfig import ChannelConfig
    from .node import PeerChannel, PeerNode

log = logging.getLogger(__name__)

ERROR_THRESHOLD = 400  # shim.ERRORTHRESHOLD
ERROR = 500  # shim.ERROR


class ProposalError(Exception):
    """The proposal was refused before simulation (Fabric returns it as a gRPC error)."""


def error_response(message: str) -> proposal_response_pb2.ProposalResponse:
    return proposal_response_pb2.ProposalResponse(
        response=proposal_response_pb2.Response(status=ERROR, message=message)
    )


class TransientStore:
    """Private write sets awaiting their block, by txid (Fabric's transient store).

    Shared by every peer of the process: it stands in for gossip's private data distribution,
    and each committing peer takes only the collections its org is a member of. An entry goes
    once every peer of its channel has committed its block (`consumers` counts them), or after
    `retention` seconds if it never reaches a block (Fabric purges by block height instead).
    """

    def __init__(
        self, consumers: Callable[[str], int] | None = None, retention: float = 600.0
    ) -> None:
        self._consumers = consumers
        self._retention = retention
        self._data: dict[str, tuple[Any, float, int]] = {}  # txid -> (pvt, stored at, left)
        self._lock = threading.Lock()
        self._next_expiry = 0.0

    def __len__(self) -> int:
        return len(self._data)

    def put(self, txid: str, pvt: Any, channel: str = "") -> None:
        now = time.monotonic()
        left = self._consumers(channel) if self._consumers is not None else 0
        with self._lock:
            self._data[txid] = (pvt, now, left)
            if now >= self._next_expiry:
                self._next_expiry = now + min(self._retention, 10.0)
                cutoff = now - self._retention
                for t in [t for t, e in self._data.items() if e[1] < cutoff]:
                    del self._data[t]

    def get(self, txid: str) -> Any | None:
        with self._lock:
            entry = self._data.get(txid)
        return entry[0] if entry is not None else None

    def taken(self, txid: str) -> None:
        """One peer has committed the block holding `txid`."""
        with self._lock:
            entry = self._data.get(txid)
            if entry is None or entry[2] <= 0:
                return
            if entry[2] == 1:
                del self._data[txid]
            else:
                self._data[txid] = (entry[0], entry[1], entry[2] - 1)

    def purge(self, txids: list[str]) -> None:
        with self._lock:
            for t in txids:
                self._data.pop(t, None)


_HEADER_TYPES = frozenset(common_pb2.HeaderType.values())


def validate_proposal(pp: ParsedProposal, deserialize: Callable[[bytes], Identity]) -> Identity:
    """Fabric's UnpackedProposal.Validate; returns the creator's identity."""
    chdr, shdr = pp.channel_header, pp.signature_header
    if chdr.type not in (common_pb2.ENDORSER_TRANSACTION, common_pb2.CONFIG):
        # a type no enum value names prints as its number, as Go prints it
        name = common_pb2.HeaderType.Name(chdr.type) if chdr.type in _HEADER_TYPES else chdr.type
        raise ProposalError(f"invalid header type {name}")
    if chdr.epoch != 0:
        raise ProposalError("epoch is non-zero")
    if not shdr.nonce:
        raise ProposalError("nonce is empty")
    if not shdr.creator:
        raise ProposalError("creator is empty")
    expected = compute_txid(shdr.nonce, shdr.creator)
    if chdr.tx_id != expected:
        raise ProposalError(f"incorrectly computed txid '{chdr.tx_id}' -- expected '{expected}'")
    if not pp.signed.proposal_bytes:
        raise ProposalError("empty proposal bytes")
    if not pp.signed.signature:
        raise ProposalError("empty signature bytes")
    # As Fabric's msgvalidation: an identity the channel's MSPs cannot deserialize (malformed,
    # or of an org that is not a member) is "creator org unknown"; one that deserializes but
    # fails validation or its signature is "creator org [<msp>]".
    try:
        identities_pb2.SerializedIdentity.FromString(shdr.creator)
        creator = deserialize(shdr.creator)
    except Exception as exc:
        log.warning("access denied: channel %s: %s", chdr.channel_id, exc)
        raise ProposalError(
            f"access denied: channel [{chdr.channel_id}] creator org unknown, creator is malformed"
        ) from None
    denied = ProposalError(
        f"access denied: channel [{chdr.channel_id}] creator org [{creator.msp_id}]"
    )
    try:
        creator.validate()
    except MSPError as exc:
        log.warning("access denied: channel %s: %s", chdr.channel_id, exc)
        raise denied from None
    if not creator.verify(pp.signed.proposal_bytes, pp.signed.signature):
        log.warning("access denied: creator's signature over the proposal is not valid")
        raise denied
    return creator


class Endorser:
    """The endorser of one peer."""

    def __init__(self, peer: PeerNode) -> None:
        self.peer = peer

    async def process_proposal(
        self, signed: proposal_pb2.SignedProposal, parsed: ParsedProposal | None = None
    ) -> tuple[proposal_response_pb2.ProposalResponse, str | None]:
        """`parsed`: the same proposal already unpacked (the gateway's), read but not changed."""
        try:
            pp = parsed if parsed is not None else unpack_proposal(signed)
        except ValueError as exc:
            return error_response(str(exc)), str(exc)
        channel: PeerChannel | None = None
        if pp.channel_id:
            channel = self.peer.channels.get(pp.channel_id)
            if channel is None:
                return error_response(f"channel '{pp.channel_id}' not found"), None
        try:
            creator = self._pre_process(pp, channel)
        except ProposalError as exc:
            return error_response(str(exc)), str(exc)
        try:
            return await self._process(pp, channel, creator), None
        except (ProposalError, ChaincodeExecutionError, HandlerError, RwsetError) as exc:
            log.warning(
                "%s: failed to invoke chaincode %s on %s: %s",
                self.peer.name,
                pp.chaincode_name,
                pp.channel_id or "(no channel)",
                exc,
            )
            return error_response(str(exc)), None

    def _pre_process(self, pp: ParsedProposal, channel: PeerChannel | None) -> Identity:
        if channel is None:
            # Without a channel there is nothing to submit: the proposal is checked against
            # the peer's own MSP, and only system chaincodes answer it (Fabric's endorser).
            try:
                return validate_proposal(pp, self.peer.local_msp.deserialize_identity)
            except ProposalError as exc:
                raise ProposalError(f"error validating proposal: {exc}") from None
        config = channel.config
        try:
            creator = validate_proposal(pp, config.msp_manager.deserialize_identity)
        except ProposalError as exc:
            raise ProposalError(f"error validating proposal: {exc}") from None
        if channel.ledger.tx_exists(pp.txid):
            raise ProposalError(
                f"duplicate transaction found [{pp.txid}]. Creator [{pp.creator.hex()}]"
            )
        if not syscc.is_syscc(pp.chaincode_name):
            check_acl(channel, "peer/Propose", "/Channel/Application/Writers", pp)
        return creator

    async def _process(
        self, pp: ParsedProposal, channel: PeerChannel | None, creator: Identity
    ) -> proposal_response_pb2.ProposalResponse:
        name = pp.chaincode_name
        results = b""
        event_bytes = b""
        if syscc.is_syscc(name):
            response, results = self._system(pp, channel)
            version = syscc.VERSION
        elif channel is None:
            raise ProposalError(
                f"make sure the chaincode {name} has been successfully defined on channel  and "
                f"try again: could not get channel config for channel ''"
            )
        else:
            definition = channel.definition(name)
            if definition is None:
                raise ProposalError(
                    f"make sure the chaincode {name} has been successfully defined on channel "
                    f"{pp.channel_id} and try again: chaincode {name} not found"
                )
            self._runnable(channel, definition)
            version = definition.version
            response, results, event_bytes = await self._simulate(pp, channel, creator, definition)
        chaincode_id = chaincode_pb2.ChaincodeID(name=name, version=version)
        action = proposal_pb2.ChaincodeAction(
            results=results, events=event_bytes, response=response, chaincode_id=chaincode_id
        )
        prp = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=pp.proposal_hash(), extension=action.SerializeToString()
        ).SerializeToString()
        if response.status >= ERROR:
            return proposal_response_pb2.ProposalResponse(response=response, payload=prp)
        if channel is None or response.status >= ERROR_THRESHOLD:
            # without a channel Fabric answers unendorsed: nothing could be submitted
            return proposal_response_pb2.ProposalResponse(response=response)
        return self.endorse(prp, response)

    def _system(
        self, pp: ParsedProposal, channel: PeerChannel | None
    ) -> tuple[proposal_response_pb2.Response, bytes]:
        """qscc and cscc run without a simulator; `_lifecycle` on a channel simulates, so an
        approval or a commit carries the read/write set a Fabric peer computes."""
        if channel is None or pp.chaincode_name != syscc.LIFECYCLE:
            return syscc.invoke(self.peer, channel, pp, None), b""
        sim = channel.ledger.new_tx_simulator(pp.txid)
        try:
            response = syscc.invoke(self.peer, channel, pp, sim)
        finally:
            sim.done()
        if response.status >= ERROR_THRESHOLD:
            return response, b""
        sim_results = sim.results()
        if sim_results.private is not None:
            self.peer.transient_store.put(pp.txid, sim_results.private, pp.channel_id)
        return response, sim_results.public_bytes()

    def _runnable(self, channel: PeerChannel, definition: Any) -> None:
        """Fabric's lifecycle cache: the peer's org approved the committed definition, with a
        package this peer has installed (which is the chaincode server it dials)."""
        name, ch = definition.name, channel.channel_id
        approval = channel.ledger.local_approval(name)
        if approval is None:  # a ledger given its definitions (tests): nothing to check
            return
        why = None
        if not approval.approved:
            why = (
                f"chaincode definition for '{name}' at sequence {definition.sequence} on "
                f"channel '{ch}' has not yet been approved by this org"
            )
        else:
            pkg = (
                self.peer.packages.by_id_hash(approval.package_hash)
                if approval.package_hash is not None
                else None
            )
            if pkg is None:
                why = f"chaincode definition for '{name}' exists, but chaincode is not installed"
            else:
                self.peer.chaincode_support.bind(name, pkg)
        if why is not None:
            raise ProposalError(
                f"make sure the chaincode {name} has been successfully defined on channel {ch} "
                f"and try again: {why}"
            )

    def endorse(
        self, prp: bytes, response: proposal_response_pb2.Response
    ) -> proposal_response_pb2.ProposalResponse:
        """Fabric's default ESCC: sign payload || endorser with the peer's identity."""
        endorser = self.peer.signer.serialize()
        endorsement = proposal_response_pb2.Endorsement(
            endorser=endorser, signature=self.peer.signer.sign(prp + endorser)
        )
        return proposal_response_pb2.ProposalResponse(
            version=1, endorsement=endorsement, payload=prp, response=response
        )

    async def _simulate(
        self, pp: ParsedProposal, channel: PeerChannel, creator: Identity, definition: Any
    ) -> tuple[proposal_response_pb2.Response, bytes, bytes]:
        sim = channel.ledger.new_tx_simulator(pp.txid)
        # As Fabric's lifecycle.ChaincodeEndorsementInfo: the definition's sequence is read
        # through the simulator, so the tx is invalidated if the chaincode is upgraded first.
        sim.get_state(lifecycle.NAMESPACE, lifecycle.sequence_key(pp.chaincode_name))
        ctx = TransactionContext(
            channel_id=pp.channel_id,
            txid=pp.txid,
            namespace=pp.chaincode_name,
            simulator=sim,
            signed_proposal=pp.signed,
            history=channel.ledger.get_history,
            collection_guard=channel.collection_guard(creator),
        )
        cc_input = pp.invocation.chaincode_spec.input
        try:
            response, event = await self.peer.chaincode_support.execute(ctx, cc_input)
        except ChaincodeExecutionError as exc:
            raise ChaincodeExecutionError(f"error in simulation: {exc}") from None
        finally:
            done = getattr(sim, "done", None)
            if done is not None:
                done()
        sim_results = sim.results()
        if sim_results.private is not None and response.status < ERROR_THRESHOLD:
            self.peer.transient_store.put(pp.txid, sim_results.private, pp.channel_id)
        event_bytes = event.SerializeToString() if event is not None else b""
        return response, sim_results.public_bytes(), event_bytes


# (channel, config sequence, policy path, creator) -> whether the creator satisfies the policy.
_DECISIONS: dict[tuple[str, int, str, bytes], bool] = {}
_DECISIONS_MAX = 4096
_DECISIONS_LOCK = threading.Lock()


def signed_data_satisfies(config: ChannelConfig, path: str, signed: SignedData) -> bool:
    """Fabric's policy check over one signed datum: the signature is verified and the identity
    validated on every call; which principals a valid identity satisfies depends only on its
    certificate and the channel config, so that part is remembered per config sequence."""
    try:
        identity = config.msp_manager.deserialize_identity(signed.identity)
        identity.validate()
    except MSPError:
        return False
    if not identity.verify(signed.data, signed.signature):
        return False
    key = (config.channel_id, config.sequence, path, signed.identity)
    decision = _DECISIONS.get(key)
    if decision is None:
        decision = config.policy_manager.evaluate_identities(path, [identity])
        with _DECISIONS_LOCK:
            if len(_DECISIONS) >= _DECISIONS_MAX:
                _DECISIONS.clear()
            _DECISIONS[key] = decision
    return decision


def check_acl(channel: PeerChannel, resource: str, default: str, pp: ParsedProposal) -> None:
    """An ACL resource checked against the proposal's signed data, with Fabric's wording."""
    policy = channel.config.policy_ref(resource, default)
    signed = SignedData(pp.signed.proposal_bytes, pp.creator, pp.signed.signature)
    try:
        ok = signed_data_satisfies(channel.config, policy, signed)
        reason = "signature set did not satisfy policy"
    except Exception as exc:
        ok, reason = False, str(exc)
    if not ok:
        raise ProposalError(
            f"access denied for [{resource}]: failed evaluating policy on signed data during "
            f"check policy on channel [{pp.channel_id}] with policy [{policy}]: [{reason}]"
        )
