"""The `_lifecycle` system chaincode as the endorser invokes it (Fabric's `lifecycle/scc.go`).

Two arguments: the function name and its marshalled `<Function>Args`; the answer is a
`peer.Response` with the marshalled `<Function>Result`. The ACL of `_lifecycle/<Function>` is
checked first: the peer's own org admins for install, approve and the queries of installed or
approved chaincode (Fabric's "p-type" resources, checked against the peer's local MSP), the
channel's policy for the others. A definition or package that does not exist is a 404, any
other failure a 500 "failed to invoke backing implementation of ...".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from ..policies import SignedData
from . import functions as fx
from .definition import (
    NAMESPACE,
    ChaincodeDefinition,
    local_approval,
    package_id_hash,
)
from .packages import PackageError, PackageNotFound

if TYPE_CHECKING:
    from ..channelconfig import ChannelConfig
    from ..msp import MSPManager
    from ..rwset import TxSimulator
    from .packages import PackageStore

log = logging.getLogger(__name__)

Response: TypeAlias = proposal_response_pb2.Response
LP = lifecycle_pb2

# Fabric's defaultaclprovider: these resources answer to the peer's own org, not the channel.
ADMIN_RESOURCES = frozenset(
    {
        "InstallChaincode",
        "QueryInstalledChaincode",
        "GetInstalledChaincodePackage",
        "QueryInstalledChaincodes",
        "ApproveChaincodeDefinitionForMyOrg",
        "QueryApprovedChaincodeDefinition",
        "QueryApprovedChaincodeDefinitions",
    }
)
CHANNEL_WRITERS = "/Channel/Application/Writers"


@dataclass
class Invocation:
    """One `_lifecycle` call on one peer. `config`/`sim` are None for a call without a channel
    (install and the queries of installed packages)."""

    fn: str
    arg: bytes
    signed: proposal_pb2.SignedProposal
    creator: bytes
    msp_id: str  # the peer's org
    local_msp: MSPManager
    packages: PackageStore
    config: ChannelConfig | None
    sim: TxSimulator | None
    # package id -> {channel: [(chaincode, version)]} of the definitions that use it
    references: Callable[[str], dict[str, list[tuple[str, str]]]]

    @property
    def channel_id(self) -> str:
        return self.config.channel_id if self.config is not None else ""


def invoke(inv: Invocation) -> Response:
    denied = _check_acl(inv)
    if denied is not None:
        return Response(
            status=500, message=f"Failed to authorize invocation due to failed ACL check: {denied}"
        )
    handler = _FUNCTIONS.get(inv.fn)
    if handler is None:
        return _failed(inv.fn, f"receiver *lifecycle.Invocation.{inv.fn} does not exist")
    args_type, run = handler
    try:
        args = args_type.FromString(inv.arg)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        return _failed(
            inv.fn, f"could not decode input arg for *lifecycle.Invocation.{inv.fn}: {exc}"
        )
    try:
        result = run(inv, args)
    except (fx.NamespaceNotDefined, PackageNotFound) as exc:
        return Response(status=404, message=str(exc))
    except (fx.LifecycleError, PackageError, ValueError) as exc:
        return _failed(inv.fn, str(exc))
    return Response(status=200, payload=result.SerializeToString())


def _failed(fn: str, why: str) -> Response:
    return Response(status=500, message=f"failed to invoke backing implementation of '{fn}': {why}")


def _check_acl(inv: Invocation) -> str | None:
    resource = f"{NAMESPACE}/{inv.fn}"
    if inv.fn in ADMIN_RESOURCES:
        return _local_admin(inv)
    if inv.config is None:
        return "Failed to get policy manager for channel []"
    policy = inv.config.policy_ref(resource, CHANNEL_WRITERS)
    signed = [SignedData(inv.signed.proposal_bytes, inv.creator, inv.signed.signature)]
    try:
        ok = inv.config.policy_manager.evaluate(policy, signed)
        reason = "signature set did not satisfy policy"
    except Exception as exc:  # noqa: BLE001 - a policy error is a refusal, as in Fabric
        ok, reason = False, str(exc)
    if ok:
        return None
    return f"failed evaluating policy on signed data during check policy [{policy}]: [{reason}]"


def _local_admin(inv: Invocation) -> str | None:
    """Fabric's CheckPolicyNoChannel("Admins"): the creator deserialises with the peer's own
    MSP, is one of its admins, and signed the proposal."""
    what = "channelless check policy with policy [Admins]"
    try:
        identity = inv.local_msp.deserialize_identity(inv.creator)
    except Exception as exc:  # noqa: BLE001
        return f"Failed deserializing proposal creator during {what}: [{exc}]"
    principal = msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
        principal=msp_principal_pb2.MSPRole(
            msp_identifier=inv.msp_id, role=msp_principal_pb2.MSPRole.ADMIN
        ).SerializeToString(),
    )
    if not identity.satisfies_principal(principal):
        return (
            "Failed verifying that proposal's creator satisfies local MSP principal during "
            f"{what}: [The identity is not an admin under this MSP [{inv.msp_id}]: The "
            "identity does not contain OU [ADMIN], MSP: ["
            f"{inv.msp_id}]]"
        )
    if not identity.verify(inv.signed.proposal_bytes, inv.signed.signature):
        return "The signature is invalid"
    return None


# --- functions -------------------------------------------------------------------------------


def _need_channel(inv: Invocation) -> tuple[ChannelConfig, TxSimulator]:
    if inv.config is None or inv.sim is None:
        raise fx.LifecycleError(f"no application config for channel '{inv.channel_id}'")
    return inv.config, inv.sim


def _install(inv: Invocation, args: Any) -> Any:
    pkg = inv.packages.install(args.chaincode_install_package)
    log.info("installed chaincode with package ID '%s'", pkg.package_id)
    return LP.InstallChaincodeResult(package_id=pkg.package_id, label=pkg.label)


def _query_installed(inv: Invocation, args: Any) -> Any:
    pkg = inv.packages.get(args.package_id)
    R = LP.QueryInstalledChaincodeResult
    refs = {
        ch: R.References(chaincodes=[R.Chaincode(name=n, version=v) for n, v in ccs])
        for ch, ccs in inv.references(pkg.package_id).items()
    }
    return R(package_id=pkg.package_id, label=pkg.label, references=refs)


def _query_installed_all(inv: Invocation, args: Any) -> Any:
    R = LP.QueryInstalledChaincodesResult
    out = R()
    for pkg in inv.packages.installed():
        refs = {
            ch: R.References(chaincodes=[R.Chaincode(name=n, version=v) for n, v in ccs])
            for ch, ccs in inv.references(pkg.package_id).items()
        }
        out.installed_chaincodes.append(
            R.InstalledChaincode(package_id=pkg.package_id, label=pkg.label, references=refs)
        )
    return out


def _get_installed_package(inv: Invocation, args: Any) -> Any:
    try:
        data = inv.packages.load(args.package_id)
    except PackageNotFound as exc:
        raise fx.LifecycleError(f"could not load cc install package: {exc}") from None
    return LP.GetInstalledChaincodePackageResult(chaincode_install_package=data)


def _approve(inv: Invocation, args: Any) -> Any:
    config, sim = _need_channel(inv)
    fx.validate_input(sim, config, args.name, args.version, args.collections)
    package_id = ""
    if args.HasField("source") and args.source.WhichOneof("Type") == "local_package":
        package_id = args.source.local_package.package_id
    d = ChaincodeDefinition.from_args(args.name, args)
    fx.approve(config, args.name, d, package_id, fx.PublicState(sim), fx.OrgState(sim, inv.msp_id))
    log.info(
        "endorsed the approval of chaincode %s sequence %d (package %r) on channel %s",
        args.name,
        args.sequence,
        package_id,
        config.channel_id,
    )
    return LP.ApproveChaincodeDefinitionForMyOrgResult()


def _approved_result(d: ChaincodeDefinition, package_id: str, cls: Any, **extra: Any) -> Any:
    source = LP.ChaincodeSource()
    if package_id:
        source.local_package.package_id = package_id
    else:
        source.unavailable.SetInParent()
    return cls(
        sequence=d.sequence,
        version=d.version,
        endorsement_plugin=d.endorsement_plugin,
        validation_plugin=d.validation_plugin,
        validation_parameter=d.validation_parameter,
        init_required=d.init_required,
        collections=d.collections,
        source=source,
        **extra,
    )


def _query_approved(inv: Invocation, args: Any) -> Any:
    config, sim = _need_channel(inv)
    d, package_id = fx.query_approved(
        config.channel_id,
        args.name,
        args.sequence,
        fx.PublicState(sim),
        fx.OrgState(sim, inv.msp_id),
    )
    return _approved_result(d, package_id, LP.QueryApprovedChaincodeDefinitionResult)


def _query_approved_all(inv: Invocation, args: Any) -> Any:
    _, sim = _need_channel(inv)
    R = LP.QueryApprovedChaincodeDefinitionsResult
    out = R()
    for _, (d, package_id) in sorted(fx.query_approved_all(fx.OrgState(sim, inv.msp_id)).items()):
        out.approved_chaincode_definitions.append(
            _approved_result(d, package_id, R.ApprovedChaincodeDefinition, name=d.name)
        )
    return out


def _check_readiness(inv: Invocation, args: Any) -> Any:
    config, sim = _need_channel(inv)
    d = ChaincodeDefinition.from_args(args.name, args)
    _, approvals, mismatches = fx.check_commit_readiness(
        config, args.name, d, fx.PublicState(sim), fx.org_states(sim, config)
    )
    R = LP.CheckCommitReadinessResult
    return R(
        approvals=approvals,
        mismatches={org: R.Mismatches(items=items) for org, items in mismatches.items()},
    )


def _commit(inv: Invocation, args: Any) -> Any:
    config, sim = _need_channel(inv)
    fx.validate_input(sim, config, args.name, args.version, args.collections)
    if inv.msp_id not in config.orgs:
        raise fx.LifecycleError(
            "impossibly, this peer's org is processing requests for a channel it is not a member of"
        )
    d = ChaincodeDefinition.from_args(args.name, args)
    approvals = fx.commit(config, args.name, d, fx.PublicState(sim), fx.org_states(sim, config))
    if not approvals.get(inv.msp_id):
        raise fx.LifecycleError(f"chaincode definition not agreed to by this org ({inv.msp_id})")
    log.info(
        "endorsed the commit of chaincode %s sequence %d on channel %s",
        args.name,
        args.sequence,
        config.channel_id,
    )
    return LP.CommitChaincodeDefinitionResult()


def _query_definition(inv: Invocation, args: Any) -> Any:
    config, sim = _need_channel(inv)
    d = fx.query_definition(args.name, fx.PublicState(sim))
    approvals, _ = fx.query_org_approvals(args.name, d, fx.org_states(sim, config))
    return d.query_result(approvals)


def _query_definitions(inv: Invocation, args: Any) -> Any:
    _, sim = _need_channel(inv)
    public = fx.PublicState(sim)
    R = LP.QueryChaincodeDefinitionsResult
    out = R()
    for ns, kind in sorted(fx.query_namespaces(public).items()):
        if kind != "Chaincode":
            continue
        d = fx.query_definition(ns, public)
        q = d.query_result()
        out.chaincode_definitions.append(
            R.ChaincodeDefinition(
                name=ns,
                sequence=q.sequence,
                version=q.version,
                endorsement_plugin=q.endorsement_plugin,
                validation_plugin=q.validation_plugin,
                validation_parameter=q.validation_parameter,
                collections=q.collections,
                init_required=q.init_required,
            )
        )
    return out


_FUNCTIONS: dict[str, tuple[Any, Callable[[Invocation, Any], Any]]] = {
    "InstallChaincode": (LP.InstallChaincodeArgs, _install),
    "QueryInstalledChaincode": (LP.QueryInstalledChaincodeArgs, _query_installed),
    "GetInstalledChaincodePackage": (LP.GetInstalledChaincodePackageArgs, _get_installed_package),
    "QueryInstalledChaincodes": (LP.QueryInstalledChaincodesArgs, _query_installed_all),
    "ApproveChaincodeDefinitionForMyOrg": (LP.ApproveChaincodeDefinitionForMyOrgArgs, _approve),
    "QueryApprovedChaincodeDefinition": (LP.QueryApprovedChaincodeDefinitionArgs, _query_approved),
    "QueryApprovedChaincodeDefinitions": (
        LP.QueryApprovedChaincodeDefinitionsArgs,
        _query_approved_all,
    ),
    "CheckCommitReadiness": (LP.CheckCommitReadinessArgs, _check_readiness),
    "CommitChaincodeDefinition": (LP.CommitChaincodeDefinitionArgs, _commit),
    "QueryChaincodeDefinition": (LP.QueryChaincodeDefinitionArgs, _query_definition),
    "QueryChaincodeDefinitions": (LP.QueryChaincodeDefinitionsArgs, _query_definitions),
}


def package_references(
    package_id: str, channels: dict[str, Any], msp_id: str
) -> dict[str, list[tuple[str, str]]]:
    """channel -> [(chaincode, version)] whose committed definition this org approved with
    `package_id` (Fabric's lifecycle cache references of an installed package)."""
    want = package_id_hash(package_id)
    out: dict[str, list[tuple[str, str]]] = {}
    for name, ch in channels.items():
        db = ch.ledger.state
        refs = []
        for d in ch.ledger.committed_definitions():
            approval = local_approval(db, msp_id, d)
            if approval.approved and approval.package_hash == want:
                refs.append((d.name, d.version))
        if refs:
            out[name] = refs
    return out
