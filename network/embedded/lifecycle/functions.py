"""The `_lifecycle` rules (Fabric's `ExternalFunctions`, core/chaincode/lifecycle/lifecycle.go).

Every function reads and writes through the transaction's simulator, in the order Fabric's
does, so that an approval's or a commit's read/write set is the one a Fabric peer computes:
approvals go to the org's implicit collection, the definition to the public `_lifecycle`
namespace, and approvals of other orgs are checked against the hashes every peer holds.
Errors carry Fabric's wording; `NamespaceNotDefined` is the one Fabric answers with 404.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import collection_pb2

from . import serializer as ser
from .definition import (
    DEFAULT_ENDORSEMENT_REF,
    DEFINITION_TYPE,
    FRIENDLY_TYPE,
    LEGACY_NAMESPACE,
    LOCAL_PACKAGE_TYPE,
    NAMESPACE,
    NAMESPACES,
    PARAMETERS_TYPE,
    SOURCES,
    ChaincodeDefinition,
    definition_from,
    implicit_collection,
    local_package_structure,
    private_name,
)

if TYPE_CHECKING:
    from ..channelconfig import ChannelConfig
    from ..rwset import TxSimulator

CHAINCODE_NAME = re.compile(r"^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$")
CHAINCODE_VERSION = re.compile(r"^[A-Za-z0-9_.+-]+$")
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9-]+([A-Za-z0-9_-]+)*$")
SYSTEM_CHAINCODE_NAMES = frozenset({"cscc", "escc", "lscc", "qscc", "vscc"})


class LifecycleError(ValueError):
    """A `_lifecycle` call refused, with Fabric's message."""


class NamespaceNotDefined(LifecycleError):
    def __init__(self, namespace: str) -> None:
        super().__init__(f"namespace {namespace} is not defined")


class PublicState:
    """The public `_lifecycle` namespace through a simulation (reads and writes recorded)."""

    def __init__(self, sim: TxSimulator) -> None:
        self.sim = sim

    def get_state(self, key: str) -> bytes | None:
        return self.sim.get_state(NAMESPACE, key)

    def put_state(self, key: str, value: bytes) -> None:
        self.sim.put_state(NAMESPACE, key, value)

    def del_state(self, key: str) -> None:
        self.sim.del_state(NAMESPACE, key)

    def get_state_range(self, prefix: str) -> dict[str, bytes]:
        return dict(self.sim.get_state_range(NAMESPACE, prefix, prefix + "\x7f"))


class OrgState:
    """An org's implicit collection of `_lifecycle` through a simulation."""

    def __init__(self, sim: TxSimulator, msp_id: str) -> None:
        self.sim = sim
        self.msp_id = msp_id
        self.collection = implicit_collection(msp_id)

    def get_state(self, key: str) -> bytes | None:
        return self.sim.get_private_data(NAMESPACE, self.collection, key)

    def get_state_hash(self, key: str) -> bytes | None:
        return self.sim.get_private_data_hash(NAMESPACE, self.collection, key)

    def put_state(self, key: str, value: bytes) -> None:
        self.sim.put_private_data(NAMESPACE, self.collection, key, value)

    def del_state(self, key: str) -> None:
        self.sim.del_private_data(NAMESPACE, self.collection, key)

    def get_state_range(self, prefix: str) -> dict[str, bytes]:
        return dict(
            self.sim.get_private_data_range(NAMESPACE, self.collection, prefix, prefix + "\x7f")
        )


def org_states(sim: TxSimulator, config: ChannelConfig) -> list[OrgState]:
    return [OrgState(sim, msp) for msp in sorted(config.orgs)]


# --- definitions ----------------------------------------------------------------------------


def committed_sequence(public: ser.ReadableState, name: str) -> int:
    return ser.field_as_int(NAMESPACES, name, "Sequence", public)


def set_defaults(config: ChannelConfig, d: ChaincodeDefinition) -> ChaincodeDefinition:
    """Fabric's SetChaincodeDefinitionDefaults: escc, vscc, the channel's default policy."""
    from dataclasses import replace

    changes: dict[str, object] = {}
    if not d.endorsement_plugin:
        changes["endorsement_plugin"] = "escc"
    if not d.validation_plugin:
        changes["validation_plugin"] = "vscc"
    if not d.recorded_validation_parameter and d.endorsement_policy is None and not d.policy_ref:
        if config.policy_manager.get_policy(DEFAULT_ENDORSEMENT_REF) is None:
            raise LifecycleError(
                f"could not set defaults for chaincode definition in channel "
                f"{config.channel_id}: policy '{DEFAULT_ENDORSEMENT_REF}' must be defined for "
                f"channel '{config.channel_id}' before chaincode operations can be attempted"
            )
        changes["policy_ref"] = DEFAULT_ENDORSEMENT_REF
        changes["recorded_validation_parameter"] = b""
    return replace(d, **changes) if changes else d  # type: ignore[arg-type]


def deployed_definition(sim: TxSimulator, name: str) -> ChaincodeDefinition | None:
    """Fabric's DeployedCCInfoProvider.ChaincodeInfo through the simulation: the `_lifecycle`
    definition, else the legacy (lscc) one, which this engine never has but reads as Fabric."""
    d = definition_from(name, PublicState(sim))
    if d is None:
        sim.get_state(LEGACY_NAMESPACE, name)
    return d


def collections_of(sim: TxSimulator, config: ChannelConfig, ns: str) -> frozenset[str]:
    """Collection names chaincode `ns` may use: its own and one implicit collection per org of
    the channel, looked up through the simulation (Fabric's collection name validator)."""
    if ns == NAMESPACE:
        return frozenset(implicit_collection(m) for m in config.orgs)
    d = deployed_definition(sim, ns)
    if d is None:
        return frozenset()
    definition_from(ns, PublicState(sim))  # ImplicitCollections reads the definition again
    return frozenset(d.collection_names()) | {implicit_collection(m) for m in config.orgs}


def check_commit_readiness(
    config: ChannelConfig,
    name: str,
    d: ChaincodeDefinition,
    public: ser.ReadableState,
    orgs: list[OrgState],
) -> tuple[ChaincodeDefinition, dict[str, bool], dict[str, list[str]]]:
    current = committed_sequence(public, name)
    if d.sequence != current + 1:
        raise LifecycleError(
            f"requested sequence is {d.sequence}, but new definition must be sequence {current + 1}"
        )
    d = set_defaults(config, d)
    approvals, mismatches = query_org_approvals(name, d, orgs)
    return d, approvals, mismatches


def commit(
    config: ChannelConfig,
    name: str,
    d: ChaincodeDefinition,
    public: PublicState,
    orgs: list[OrgState],
) -> dict[str, bool]:
    d, approvals, _ = check_commit_readiness(config, name, d, public, orgs)
    ser.serialize(NAMESPACES, name, d.structure(), public)
    return approvals


def approve(
    config: ChannelConfig,
    name: str,
    d: ChaincodeDefinition,
    package_id: str,
    public: PublicState,
    org: OrgState,
) -> None:
    current = committed_sequence(public, name)
    requested = d.sequence
    if current == requested == 0:
        raise LifecycleError("requested sequence is 0, but first definable sequence number is 1")
    if requested < current:
        raise LifecycleError(
            f"currently defined sequence {current} is larger than requested sequence {requested}"
        )
    if requested > current + 1:
        raise LifecycleError(
            f"requested sequence {requested} is larger than the next available sequence number "
            f"{current + 1}"
        )
    d = set_defaults(config, d)
    pname = private_name(name, requested)
    if requested == current:
        defined = definition_from(name, public)
        if defined is None:
            raise LifecycleError(
                f"missing metadata for currently committed sequence number ({current})"
            )
        differs = defined.same_parameters(d)
        if differs is not None:
            raise LifecycleError(
                f"attempted to redefine the current committed sequence ({current}) for "
                f"namespace {name} with different parameters: {differs}"
            )
        if _redefines(pname, package_id, d, org):
            raise LifecycleError(
                f"attempted to redefine the current committed sequence ({current}) for "
                f"namespace {name}"
            )
    if requested == current + 1 and _redefines(pname, package_id, d, org):
        raise LifecycleError(
            f"attempted to redefine uncommitted sequence ({requested}) for namespace {name} "
            "with unchanged content"
        )
    ser.serialize(NAMESPACES, pname, d.parameters(), org)
    ser.serialize(SOURCES, pname, local_package_structure(package_id), org)


def _redefines(pname: str, package_id: str, d: ChaincodeDefinition, org: OrgState) -> bool:
    metadata = ser.deserialize_metadata(NAMESPACES, pname, org)
    if metadata is None:
        return False
    values = ser.deserialize(NAMESPACES, pname, metadata, d.parameters(), org)
    approved = ChaincodeDefinition.from_fields(
        d.name,
        d.sequence,
        bytes(values["EndorsementInfo"]),  # type: ignore[arg-type]
        bytes(values["ValidationInfo"]),  # type: ignore[arg-type]
        bytes(values["Collections"]),  # type: ignore[arg-type]
    )
    if approved.same_parameters(d) is not None:
        return False
    sources = ser.deserialize_metadata(SOURCES, pname, org)
    if sources is None:
        return False
    chosen = ser.deserialize(SOURCES, pname, sources, local_package_structure(""), org)
    return chosen["PackageID"] == package_id


def query_org_approvals(
    name: str, d: ChaincodeDefinition, orgs: list[OrgState]
) -> tuple[dict[str, bool], dict[str, list[str]]]:
    approvals: dict[str, bool] = {}
    mismatches: dict[str, list[str]] = {}
    pname = private_name(name, d.sequence)
    if orgs:  # every org's hashes in one query; each is recorded as it is read below
        keys = [ser.metadata_key(NAMESPACES, pname)]
        keys += [ser.field_key(NAMESPACES, pname, f) for f in d.parameters().names]
        orgs[0].sim.prefetch_private_data_hashes(
            NAMESPACE, [(org.collection, k) for org in orgs for k in keys]
        )
    for org in orgs:
        ok, items = ser.is_serialized(NAMESPACES, pname, d.parameters(), org)
        approvals[org.msp_id] = ok
        if items:
            mismatches[org.msp_id] = items
    return approvals, mismatches


def query_definition(name: str, public: ser.ReadableState) -> ChaincodeDefinition:
    d = definition_from(name, public)
    if d is None:
        raise NamespaceNotDefined(name)
    return d


def query_namespaces(public: PublicState) -> dict[str, str]:
    return {
        ns: FRIENDLY_TYPE if m.datatype == DEFINITION_TYPE else m.datatype
        for ns, m in ser.all_metadata(NAMESPACES, public).items()
    }


def query_approved(
    channel: str,
    name: str,
    sequence: int,
    public: ser.ReadableState,
    org: OrgState,
) -> tuple[ChaincodeDefinition, str]:
    """An org's approved definition and its package id ('' = unavailable)."""
    requested = sequence
    if requested == 0:
        current = committed_sequence(public, name)
        requested = current
        if ser.deserialize_metadata(NAMESPACES, private_name(name, current + 1), org) is not None:
            requested = current + 1
    pname = private_name(name, requested)
    metadata = ser.deserialize_metadata(NAMESPACES, pname, org)
    if metadata is None:
        raise LifecycleError(
            f"could not fetch approved chaincode definition (name: '{name}', sequence: "
            f"'{requested}') on channel '{channel}'"
        )
    return _approved(name, requested, metadata, org)


def query_approved_all(org: OrgState) -> dict[str, tuple[ChaincodeDefinition, str]]:
    out: dict[str, tuple[ChaincodeDefinition, str]] = {}
    for pname, metadata in ser.all_metadata(NAMESPACES, org).items():
        parts = pname.split("#")
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise LifecycleError(
                f"could not extract chaincode name and sequence number from metadata: {pname}"
            )
        out[pname] = _approved(parts[0], int(parts[1]), metadata, org)
    return out


def _approved(
    name: str, sequence: int, metadata: object, org: OrgState
) -> tuple[ChaincodeDefinition, str]:
    pname = private_name(name, sequence)
    if metadata.datatype != PARAMETERS_TYPE:  # type: ignore[attr-defined]
        raise LifecycleError(f"not a chaincode parameters type: {metadata.datatype}")  # type: ignore[attr-defined]
    template = ChaincodeDefinition(name, "", 0, None).parameters()
    values = ser.deserialize(NAMESPACES, pname, metadata, template, org)  # type: ignore[arg-type]
    d = ChaincodeDefinition.from_fields(
        name,
        sequence,
        bytes(values["EndorsementInfo"]),  # type: ignore[arg-type]
        bytes(values["ValidationInfo"]),  # type: ignore[arg-type]
        bytes(values["Collections"]),  # type: ignore[arg-type]
    )
    sources = ser.deserialize_metadata(SOURCES, pname, org)
    if sources is None:
        raise LifecycleError(f"could not fetch chaincode-source metadata for {pname}")
    if sources.datatype != LOCAL_PACKAGE_TYPE:
        raise LifecycleError(f"not a chaincode local package type: {sources.datatype}")
    chosen = ser.deserialize(SOURCES, pname, sources, local_package_structure(""), org)
    return d, str(chosen["PackageID"])


# --- input checks ---------------------------------------------------------------------------


def validate_input(
    sim: TxSimulator,
    config: ChannelConfig,
    name: str,
    version: str,
    collections: collection_pb2.CollectionConfigPackage,
) -> None:
    """Fabric's Invocation.validateInput, message for message."""
    try:
        _validate_input(sim, config, name, version, collections)
    except LifecycleError as exc:
        raise LifecycleError(f"error validating chaincode definition: {exc}") from None


def _validate_input(
    sim: TxSimulator,
    config: ChannelConfig,
    name: str,
    version: str,
    collections: collection_pb2.CollectionConfigPackage,
) -> None:
    if not CHAINCODE_NAME.match(name):
        raise LifecycleError(
            f"invalid chaincode name '{name}'. Names can only consist of alphanumerics, '_', "
            "and '-' and can only begin with alphanumerics"
        )
    if name in SYSTEM_CHAINCODE_NAMES:
        raise LifecycleError(f"chaincode name '{name}' is the name of a system chaincode")
    if not CHAINCODE_VERSION.match(version):
        raise LifecycleError(
            f"invalid chaincode version '{version}'. Versions can only consist of "
            "alphanumerics, '_', '-', '+', and '.'"
        )
    statics = []
    for c in collections.config:
        if c.WhichOneof("payload") != "static_collection_config":
            raise LifecycleError("collection config contains unexpected payload type")
        statics.append(c.static_collection_config)
    _validate_collections(statics, config)
    committed = deployed_definition(sim, name)
    if committed is None or committed.collections is None:
        return
    if not statics:
        raise LifecycleError(
            "the proposed collection config does not contain previously defined collections"
        )
    proposed = {c.name: c for c in statics}
    for old in committed.collections.config:
        coll = old.static_collection_config
        new = proposed.get(coll.name)
        if new is None:
            raise LifecycleError(
                f"existing collection [{coll.name}] missing in the proposed collection "
                "configuration"
            )
        if new.block_to_live != coll.block_to_live:
            raise LifecycleError(
                f"the BlockToLive in an existing collection [{coll.name}] modified. Existing "
                f"value [{coll.block_to_live}]"
            )


def _validate_collections(
    statics: list[collection_pb2.StaticCollectionConfig], config: ChannelConfig
) -> None:
    seen: set[str] = set()
    for c in statics:
        if not COLLECTION_NAME.match(c.name):
            raise LifecycleError(
                f"invalid collection name '{c.name}'. Names can only consist of alphanumerics, "
                "'_', and '-' and cannot begin with '_'"
            )
        if c.name in seen:
            raise LifecycleError(
                f"collection-name: {c.name} -- found duplicate in collection configuration"
            )
        seen.add(c.name)
        if c.maximum_peer_count < c.required_peer_count:
            raise LifecycleError(
                f"collection-name: {c.name} -- maximum peer count ({c.maximum_peer_count}) "
                f"cannot be less than the required peer count ({c.required_peer_count})"
            )
        if c.required_peer_count < 0:
            raise LifecycleError(
                f"collection-name: {c.name} -- requiredPeerCount ({c.required_peer_count}) "
                "cannot be less than zero"
            )
        if not c.HasField("member_orgs_policy"):
            raise LifecycleError(f"collection member policy is not set for collection '{c.name}'")
        if not c.member_orgs_policy.HasField("signature_policy"):
            raise LifecycleError(f"collection member org policy is empty for collection '{c.name}'")
        policy = c.member_orgs_policy.signature_policy
        if not _only_ors(policy.rule):
            raise LifecycleError(
                f"collection-name: {c.name} -- error in member org policy: signature policy is "
                "not an OR concatenation"
            )
        for principal in policy.identities:
            _member_of_channel(c.name, principal, config)


def _only_ors(rule: object) -> bool:
    if rule.WhichOneof("Type") != "n_out_of":  # type: ignore[attr-defined]
        return True
    n_out_of = rule.n_out_of  # type: ignore[attr-defined]
    return bool(n_out_of.n == 1 and all(_only_ors(r) for r in n_out_of.rules))


def _member_of_channel(
    coll: str, principal: msp_principal_pb2.MSPPrincipal, config: ChannelConfig
) -> None:
    kind = principal.principal_classification
    if kind == msp_principal_pb2.MSPPrincipal.ROLE:
        msp_id = msp_principal_pb2.MSPRole.FromString(principal.principal).msp_identifier
    elif kind == msp_principal_pb2.MSPPrincipal.ORGANIZATION_UNIT:
        msp_id = msp_principal_pb2.OrganizationUnit.FromString(principal.principal).msp_identifier
    elif kind == msp_principal_pb2.MSPPrincipal.IDENTITY:
        try:
            config.msp_manager.deserialize_identity(principal.principal)
        except Exception:  # noqa: BLE001 - any failure means not of this channel
            raise LifecycleError(
                f"collection-name: {coll} -- contains an identity that is not part of the channel"
            ) from None
        return
    else:
        raise LifecycleError(f"collection-name: {coll} -- principal type {kind} is not supported")
    try:
        config.msp_manager.get(msp_id)
    except Exception:  # noqa: BLE001 - MSPManager.get raises for an unknown MSP
        raise LifecycleError(
            f"collection-name: {coll} -- collection member '{msp_id}' is not part of the channel"
        ) from None
