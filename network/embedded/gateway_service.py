"""gateway.Gateway as Fabric's peer serves it (`internal/pkg/gateway/api.go`).

Evaluate runs on one peer (the gateway's own); Endorse runs on the gateway's peer first, then
on enough other peers of the channel to satisfy the chaincode's endorsement policy, refuses
differing ProposalResponsePayloads, and returns the prepared transaction; Submit hands the
signed envelope to the in-process orderer; CommitStatus waits for the txid's validation code;
ChaincodeEvents streams a chaincode's events per block. Errors are gRPC statuses with
google.rpc.Status details of gateway.ErrorDetail per endorser, worded as Fabric words them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

import grpc
from fabric_protos.common import common_pb2, policies_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from google.rpc import status_pb2

from . import syscc
from .endorser import signed_data_satisfies
from .msp import Identity
from .policies import SignedData, evaluate_signature_policy
from .protoutil import ParsedProposal, ProtoError, tx_filter, unpack_envelope, unpack_proposal

if TYPE_CHECKING:
    from .node import PeerChannel, PeerNode

log = logging.getLogger(__name__)

Code = grpc.StatusCode
NO_PLAN = "no combination of peers can be derived which satisfy the endorsement policy"
# how Go's protobuf names bytes that are not the message (Fabric quotes it after its own words)
UNPARSEABLE = "proto: cannot parse invalid wire-format data"
_CODE_NUMBERS = {c: c.value[0] for c in grpc.StatusCode}


def rpc_status_bytes(
    code: grpc.StatusCode, message: str, details: list[gateway_pb2.ErrorDetail]
) -> bytes:
    """google.rpc.Status{code, message, details: [Any(gateway.ErrorDetail)]}, the trailer
    Fabric's gateway attaches to a failed call."""
    status = status_pb2.Status(code=_CODE_NUMBERS[code], message=message)
    for d in details:
        status.details.add().Pack(d)
    return bytes(status.SerializeToString())


class GatewayError(Exception):
    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        details: list[gateway_pb2.ErrorDetail] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []

    async def abort(self, context: grpc.aio.ServicerContext) -> None:
        md = (("grpc-status-details-bin", rpc_status_bytes(self.code, self.message, self.details)),)
        await context.abort(self.code, self.message, trailing_metadata=md)


def response_status(
    pr: proposal_response_pb2.ProposalResponse, err: str | None
) -> tuple[grpc.StatusCode, str]:
    """Fabric's responseStatus: what a proposal response means to the gateway."""
    if err is not None:
        return Code.FAILED_PRECONDITION, err
    status = pr.response.status
    if status < 200 or status >= 400:
        if not pr.payload and status == 500:
            return Code.ABORTED, pr.response.message
        return Code.UNKNOWN, f"chaincode response {status}, {pr.response.message}"
    return Code.OK, ""


class Broadcaster(Protocol):
    """The ordering service as the gateway submits to it (in process, or over a link)."""

    async def broadcast(self, env_bytes: bytes) -> tuple[int, str]: ...


class GatewayService(gateway_pb2_grpc.GatewayServicer):
    def __init__(self, peer: PeerNode, peers: list[PeerNode], orderer: Broadcaster) -> None:
        self.peer = peer
        self.peers = peers
        self.orderer = orderer
        # Peers join their channels when the engine is built, before any gateway serves, so
        # who serves a channel and, per chaincode definition and channel config, which peers
        # satisfy its endorsement policy are worked out once.
        self._peers_of: dict[str, list[PeerNode]] = {}
        self._plans: dict[tuple[str, str, str, int, str, int], list[PeerNode]] = {}

    def _detail(self, peer: PeerNode, message: str) -> gateway_pb2.ErrorDetail:
        return gateway_pb2.ErrorDetail(address=peer.address, msp_id=peer.msp_id, message=message)

    def _channel_peers(self, channel: str) -> list[PeerNode]:
        ps = self._peers_of.get(channel)
        if ps is None:
            # the gateway's own peer first, as Fabric's registry prefers the local org
            ps = sorted(
                (p for p in self.peers if channel in p.channels), key=lambda p: p is not self.peer
            )
            self._peers_of[channel] = ps
        return ps

    @staticmethod
    def _parse(signed: proposal_pb2.SignedProposal) -> ParsedProposal:
        try:
            pp = unpack_proposal(signed)
        except (ValueError, ProtoError) as exc:
            raise GatewayError(
                Code.INVALID_ARGUMENT, f"failed to unpack transaction proposal: {exc}"
            ) from None
        if not pp.channel_id:
            raise GatewayError(
                Code.INVALID_ARGUMENT,
                "failed to unpack transaction proposal: no channel id provided",
            )
        if not pp.chaincode_name:
            raise GatewayError(
                Code.INVALID_ARGUMENT,
                f"failed to unpack transaction proposal: no chaincode name is provided, channel id [{pp.channel_id}]",
            )
        return pp

    # --- Evaluate ----------------------------------------------------------------------------

    async def Evaluate(  # noqa: N802
        self, request: gateway_pb2.EvaluateRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.EvaluateResponse:
        try:
            return await self._evaluate(request)
        except GatewayError as exc:
            await exc.abort(context)
            raise

    async def _evaluate(self, request: gateway_pb2.EvaluateRequest) -> gateway_pb2.EvaluateResponse:
        pp = self._parse(request.proposed_transaction)
        candidates = [p for p in self._channel_peers(pp.channel_id) if _has_chaincode(p, pp)]
        targets = list(request.target_organizations)
        if not targets and pp.transient:
            targets = [self.peer.msp_id]
        if targets:
            candidates = [p for p in candidates if p.msp_id in targets]
        if not candidates:
            raise GatewayError(
                Code.FAILED_PRECONDITION,
                f"no peers available to evaluate chaincode {pp.chaincode_name} in channel {pp.channel_id}",
            )
        details: list[gateway_pb2.ErrorDetail] = []
        for peer in candidates:
            pr, err = await peer.endorser.process_proposal(request.proposed_transaction, pp)
            code, message = response_status(pr, err)
            if code == Code.OK:
                result = proposal_response_pb2.Response()
                result.CopyFrom(pr.response)
                try:
                    prp = proposal_response_pb2.ProposalResponsePayload.FromString(pr.payload)
                    result.payload = proposal_pb2.ChaincodeAction.FromString(
                        prp.extension
                    ).response.payload
                except Exception:
                    pass
                return gateway_pb2.EvaluateResponse(result=result)
            details.append(self._detail(peer, message))
            if code != Code.ABORTED:  # only peer-side failures are retried elsewhere
                raise GatewayError(
                    code, "evaluate call to endorser returned error: " + message, details
                )
        raise GatewayError(
            Code.ABORTED,
            "failed to evaluate transaction, see attached details for more info",
            details,
        )

    # --- Endorse -----------------------------------------------------------------------------

    async def Endorse(  # noqa: N802
        self, request: gateway_pb2.EndorseRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.EndorseResponse:
        try:
            return await self._endorse(request)
        except GatewayError as exc:
            await exc.abort(context)
            raise

    def _identity(self, channel: PeerChannel, peer: PeerNode) -> Identity:
        return channel.config.msp_manager.deserialize_identity(peer.signer.serialize())

    def _plan(self, pp: ParsedProposal, first: PeerNode) -> list[PeerNode]:
        """The smallest set of channel peers, the first one included, meeting the policy."""
        channel = first.channels[pp.channel_id]
        definition = channel.definition(pp.chaincode_name)
        if definition is None or definition.endorsement_policy is None:
            return [first]
        # Fabric's lifecycle gives every change of a definition a new sequence.
        key = (
            pp.channel_id,
            pp.chaincode_name,
            definition.version,
            definition.sequence,
            first.name,
            channel.config.sequence,
        )
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._new_plan(channel, definition.endorsement_policy, first)
        return plan

    def _new_plan(
        self, channel: PeerChannel, env: policies_pb2.SignaturePolicyEnvelope, first: PeerNode
    ) -> list[PeerNode]:
        candidates = self._channel_peers(channel.channel_id)
        others = [p for p in candidates if p is not first]
        ids = {p.name: self._identity(channel, p) for p in candidates}
        for size in range(0, len(others) + 1):
            for combo in itertools.combinations(others, size):
                chosen = [first, *combo]
                if evaluate_signature_policy(env, [ids[p.name] for p in chosen]):
                    return chosen
        raise GatewayError(Code.FAILED_PRECONDITION, NO_PLAN)

    async def _endorse(self, request: gateway_pb2.EndorseRequest) -> gateway_pb2.EndorseResponse:
        signed = request.proposed_transaction
        if not signed.proposal_bytes:
            raise GatewayError(
                Code.INVALID_ARGUMENT, "the proposed transaction must contain a signed proposal"
            )
        pp = self._parse(signed)
        channel_peers = self._channel_peers(pp.channel_id)
        if request.endorsing_organizations:
            # Fabric's planForOrgs: one peer per named org, in the order given.
            orgs = list(dict.fromkeys(request.endorsing_organizations))
            with_cc = [p for p in channel_peers if _has_chaincode(p, pp)]
            first_of: dict[str, PeerNode] = {}
            for p in with_cc:
                first_of.setdefault(p.msp_id, p)  # the gateway's own peer first
            plan = [first_of[o] for o in orgs if o in first_of]
            missing = [o for o in orgs if o not in first_of]
            if missing:
                raise GatewayError(
                    Code.UNAVAILABLE,
                    f"failed to find any endorsing peers for org(s): {', '.join(missing)}",
                )
            first = plan[0]
            responses = await self._collect(plan, signed, pp)
        else:
            local = [p for p in channel_peers if p.msp_id == self.peer.msp_id]
            if not local and pp.transient:
                raise GatewayError(
                    Code.FAILED_PRECONDITION,
                    "no endorsers found in the gateway's organization; retry specifying endorsing organization(s) to protect transient data",
                )
            if not channel_peers:
                raise GatewayError(Code.FAILED_PRECONDITION, f"channel '{pp.channel_id}' not found")
            if not any(_has_chaincode(p, pp) for p in channel_peers):
                # planFromFirstEndorser: no peer has it, so discovery derives no plan either.
                raise GatewayError(Code.FAILED_PRECONDITION, NO_PLAN)
            first = local[0] if local else channel_peers[0]
            first_resp = await self._collect([first], signed, pp)
            plan = self._plan(pp, first)
            responses = first_resp + await self._collect(plan[1:], signed, pp)
        details = [d for _, _, d in responses if d is not None]
        ok = [(p, pr) for p, pr, d in responses if d is None]
        if details or not ok:
            if not ok:
                raise GatewayError(
                    Code.ABORTED,
                    "failed to endorse transaction, see attached details for more info",
                    details,
                )
            raise GatewayError(
                Code.ABORTED,
                "failed to collect enough transaction endorsements, see attached details for more info",
                details,
            )
        payload = ok[0][1].payload
        for peer, pr in ok[1:]:
            if pr.payload != payload:
                log.warning("ProposalResponsePayloads do not match for %s", pp.txid)
                raise GatewayError(
                    Code.ABORTED,
                    "failed to collect enough transaction endorsements, see attached details for more info",
                    [self._detail(peer, "ProposalResponsePayloads do not match")],
                )
        seen: set[bytes] = set()
        endorsements = []
        for _, pr in ok:
            if pr.endorsement.endorser not in seen:
                seen.add(pr.endorsement.endorser)
                endorsements.append(pr.endorsement)
        env = prepare_transaction(pp, payload, endorsements)
        return gateway_pb2.EndorseResponse(prepared_transaction=env)

    async def _collect(
        self, peers: list[PeerNode], signed: proposal_pb2.SignedProposal, pp: ParsedProposal
    ) -> list[
        tuple[PeerNode, proposal_response_pb2.ProposalResponse, gateway_pb2.ErrorDetail | None]
    ]:
        async def one(
            p: PeerNode,
        ) -> tuple[
            PeerNode, proposal_response_pb2.ProposalResponse, gateway_pb2.ErrorDetail | None
        ]:
            pr, err = await p.endorser.process_proposal(signed, pp)
            code, message = response_status(pr, err)
            return p, pr, (None if code == Code.OK else self._detail(p, message))

        if len(peers) == 1:  # the usual first call: no task for a gather of one
            return [await one(peers[0])]
        return list(await asyncio.gather(*(one(p) for p in peers)))

    # --- Submit ------------------------------------------------------------------------------

    async def Submit(  # noqa: N802
        self, request: gateway_pb2.SubmitRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.SubmitResponse:
        try:
            txn = request.prepared_transaction
            if not request.HasField("prepared_transaction"):
                raise GatewayError(Code.INVALID_ARGUMENT, "a prepared transaction is required")
            if not txn.signature:
                raise GatewayError(Code.INVALID_ARGUMENT, "prepared transaction must be signed")
            status, info = await self.orderer.broadcast(txn.SerializeToString())
            if status != common_pb2.SUCCESS:
                name = common_pb2.Status.Name(status)
                raise GatewayError(
                    Code.ABORTED,
                    f"received unsuccessful response from orderer: status={name}, info={info}",
                )
            return gateway_pb2.SubmitResponse()
        except GatewayError as exc:
            await exc.abort(context)
            raise

    # --- CommitStatus ------------------------------------------------------------------------

    def _check_signed(
        self, channel_id: str, data: bytes, identity: bytes, signature: bytes, resource: str
    ) -> PeerChannel:
        ch = self.peer.channels.get(channel_id)
        if ch is None:
            raise GatewayError(Code.NOT_FOUND, f"channel '{channel_id}' not found")
        policy = ch.config.policy_ref(resource, "/Channel/Application/Readers")
        try:
            ok = signed_data_satisfies(ch.config, policy, SignedData(data, identity, signature))
        except Exception:
            ok = False
        if not ok:
            raise GatewayError(
                Code.PERMISSION_DENIED,
                f"failed evaluating policy on signed data during check policy [{policy}]: [signature set did not satisfy policy]",
            )
        return ch

    async def CommitStatus(  # noqa: N802
        self, signed: gateway_pb2.SignedCommitStatusRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            if not signed.request:
                raise GatewayError(Code.INVALID_ARGUMENT, "a commit status request is required")
            try:
                req = gateway_pb2.CommitStatusRequest.FromString(signed.request)
            except Exception:  # DecodeError: Fabric refuses it as it refuses bad arguments
                raise GatewayError(
                    Code.INVALID_ARGUMENT, "invalid status request: " + UNPARSEABLE
                ) from None
            if not req.identity:
                raise GatewayError(Code.INVALID_ARGUMENT, "no identity provided")
            if not req.channel_id:
                raise GatewayError(Code.INVALID_ARGUMENT, "no channel ID provided")
            if not req.transaction_id:
                raise GatewayError(Code.INVALID_ARGUMENT, "transaction ID should not be empty")
            ch = self._check_signed(
                req.channel_id,
                signed.request,
                req.identity,
                signed.signature,
                "gateway/CommitStatus",
            )
            code, number = await ch.tx_status(req.transaction_id)
            return gateway_pb2.CommitStatusResponse(result=code, block_number=number)
        except GatewayError as exc:
            await exc.abort(context)
            raise

    # --- ChaincodeEvents ---------------------------------------------------------------------

    async def ChaincodeEvents(  # noqa: N802
        self, signed: gateway_pb2.SignedChaincodeEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gateway_pb2.ChaincodeEventsResponse]:
        try:
            if not signed.request:
                raise GatewayError(Code.INVALID_ARGUMENT, "a chaincode events request is required")
            try:
                req = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
            except Exception:  # DecodeError
                raise GatewayError(
                    Code.INVALID_ARGUMENT, "invalid chaincode events request: " + UNPARSEABLE
                ) from None
            ch = self._check_signed(
                req.channel_id,
                signed.request,
                req.identity,
                signed.signature,
                "gateway/ChaincodeEvents",
            )
        except GatewayError as exc:
            await exc.abort(context)
            raise
        ledger = ch.ledger
        start = None
        if req.after_transaction_id:
            found = ledger.get_tx_by_id(req.after_transaction_id)
            if found is not None:
                start = found[2]
        if start is None:
            kind = req.start_position.WhichOneof("Type")
            start = int(req.start_position.specified.number) if kind == "specified" else ch.height
        passed = not req.after_transaction_id
        n = start
        while True:
            if n >= ch.height:
                await ch.watcher.wait_above(n)
                continue
            block = ledger.get_block(n)
            codes = tx_filter(block)
            events = []
            for i, raw in enumerate(block.data.data):
                try:
                    tx = unpack_envelope(raw)
                except ProtoError:
                    continue
                if not passed:
                    if tx.txid == req.after_transaction_id:
                        passed = True
                    continue
                if i >= len(codes) or codes[i] != transaction_pb2.VALID or tx.action is None:
                    continue
                ev = tx.action.event()
                if ev is not None and ev.chaincode_id == req.chaincode_id:
                    events.append(ev)
            if events:
                yield gateway_pb2.ChaincodeEventsResponse(events=events, block_number=n)
            n += 1


def _has_chaincode(peer: PeerNode, pp: ParsedProposal) -> bool:
    """Whether the peer can run the proposal's chaincode on its channel (system chaincodes run
    on every peer), as the registry knows from discovery."""
    if syscc.is_syscc(pp.chaincode_name):
        return True
    ch = peer.channels.get(pp.channel_id)
    return (
        ch is not None
        and pp.chaincode_name in ch.chaincodes
        and ch.definition(pp.chaincode_name) is not None
    )


def prepare_transaction(
    pp: ParsedProposal, prp: bytes, endorsements: list[proposal_response_pb2.Endorsement]
) -> common_pb2.Envelope:
    """Fabric's prepareTransaction: the unsigned envelope the client signs and submits."""
    cpp = proposal_pb2.ChaincodeProposalPayload(input=pp.payload.input)
    cap = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=cpp.SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=prp, endorsements=endorsements
        ),
    )
    tx = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=pp.header.signature_header, payload=cap.SerializeToString()
            )
        ]
    )
    payload = common_pb2.Payload(header=pp.header, data=tx.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString())
