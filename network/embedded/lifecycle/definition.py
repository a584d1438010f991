"""Chaincode definitions as `_lifecycle` keeps them in the world state, and implicit collections.

Public state (Fabric's `lifecycle.go` layout), under the `_lifecycle` namespace:

    namespaces/metadata/<cc>             StateMetadata{"ChaincodeDefinition", [Sequence,
                                         EndorsementInfo, ValidationInfo, Collections]}
    namespaces/fields/<cc>/<Field>       StateData of each field

Each org's approval lives in its implicit collection `_implicit_org_<MSPID>` of `_lifecycle`,
as `namespaces/.../<cc>#<sequence>` (type ChaincodeParameters: the definition without its
sequence) and `chaincode-sources/.../<cc>#<sequence>` (ChaincodeLocalPackage: the package id).
Every peer holds the hashes of every org's approval; only the org's peers hold the values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import collection_pb2, policy_pb2
from fabric_protos.peer.lifecycle import chaincode_definition_pb2, lifecycle_pb2

from ..statedb import StateDB
from . import serializer as ser

NAMESPACE = "_lifecycle"
NAMESPACES = "namespaces"  # prefix of definitions (public) and approvals (implicit collection)
SOURCES = "chaincode-sources"  # prefix of each org's package choice (implicit collection)
DEFINITION_TYPE = "ChaincodeDefinition"
PARAMETERS_TYPE = "ChaincodeParameters"
LOCAL_PACKAGE_TYPE = "ChaincodeLocalPackage"
FRIENDLY_TYPE = "Chaincode"
IMPLICIT_PREFIX = "_implicit_org_"
DEFAULT_ENDORSEMENT_REF = "/Channel/Application/Endorsement"
LIFECYCLE_ENDORSEMENT_REF = "/Channel/Application/LifecycleEndorsement"
DEFINITION_FIELDS = ("Sequence", "EndorsementInfo", "ValidationInfo", "Collections")
# Fabric keeps a legacy (lscc) lookup behind every `_lifecycle` miss; it reads this namespace.
LEGACY_NAMESPACE = "lscc"


def implicit_collection(msp_id: str) -> str:
    return IMPLICIT_PREFIX + msp_id


def implicit_msp(collection: str) -> str | None:
    """The org of an implicit collection name, None for any other collection."""
    return collection[len(IMPLICIT_PREFIX) :] if collection.startswith(IMPLICIT_PREFIX) else None


def sequence_key(name: str) -> str:
    """Where a chaincode's committed sequence is; every endorsement of the chaincode reads it,
    so a transaction endorsed before an upgrade fails MVCC after it."""
    return ser.field_key(NAMESPACES, name, "Sequence")


def private_name(name: str, sequence: int) -> str:
    return f"{name}#{sequence}"


def application_policy(
    signature: policies_pb2.SignaturePolicyEnvelope | None, ref: str = ""
) -> bytes:
    if signature is not None:
        return policy_pb2.ApplicationPolicy(signature_policy=signature).SerializeToString()  # type: ignore[no-any-return]
    return policy_pb2.ApplicationPolicy(  # type: ignore[no-any-return]
        channel_config_policy_reference=ref or DEFAULT_ENDORSEMENT_REF
    ).SerializeToString()


@dataclass(frozen=True)
class ChaincodeDefinition:
    """A chaincode definition: what an org approves and what the channel commits."""

    name: str
    version: str
    sequence: int
    endorsement_policy: policies_pb2.SignaturePolicyEnvelope | None
    collections: collection_pb2.CollectionConfigPackage | None = None
    policy_ref: str = ""  # channel policy path, used when endorsement_policy is None
    init_required: bool = False
    endorsement_plugin: str = "escc"
    validation_plugin: str = "vscc"
    # the ApplicationPolicy bytes as recorded, when read back from a ledger
    recorded_validation_parameter: bytes = field(default=b"", compare=False)

    @property
    def validation_parameter(self) -> bytes:
        if self.recorded_validation_parameter:
            return self.recorded_validation_parameter
        return application_policy(self.endorsement_policy, self.policy_ref)

    def collection(self, name: str) -> collection_pb2.StaticCollectionConfig | None:
        """An explicit collection of this chaincode (implicit ones: `implicit_collection_config`)."""
        if self.collections is None:
            return None
        for c in self.collections.config:
            if c.static_collection_config.name == name:
                return c.static_collection_config
        return None

    def collection_names(self) -> list[str]:
        if self.collections is None:
            return []
        return [c.static_collection_config.name for c in self.collections.config]

    def endorsement_info(self) -> bytes:
        return chaincode_definition_pb2.ChaincodeEndorsementInfo(  # type: ignore[no-any-return]
            version=self.version,
            init_required=self.init_required,
            endorsement_plugin=self.endorsement_plugin,
        ).SerializeToString()

    def validation_info(self) -> bytes:
        return chaincode_definition_pb2.ChaincodeValidationInfo(  # type: ignore[no-any-return]
            validation_plugin=self.validation_plugin,
            validation_parameter=self.validation_parameter,
        ).SerializeToString()

    def collections_bytes(self) -> bytes:
        return self.collections.SerializeToString() if self.collections is not None else b""

    def structure(self) -> ser.Structure:
        """The ChaincodeDefinition struct the public state records."""
        return ser.Structure(
            DEFINITION_TYPE,
            (
                ("Sequence", self.sequence),
                ("EndorsementInfo", self.endorsement_info()),
                ("ValidationInfo", self.validation_info()),
                ("Collections", self.collections_bytes()),
            ),
        )

    def parameters(self) -> ser.Structure:
        """The ChaincodeParameters struct an org's approval records."""
        return ser.Structure(PARAMETERS_TYPE, self.structure().fields[1:])

    def same_parameters(self, other: ChaincodeDefinition) -> str | None:
        """Fabric's ChaincodeParameters.Equal: None when equal, else what differs."""
        if self.version != other.version:
            return (
                f"expected Version '{self.version}' does not match passed Version '{other.version}'"
            )
        if self.endorsement_plugin != other.endorsement_plugin:
            return (
                f"expected EndorsementPlugin '{self.endorsement_plugin}' does not match passed "
                f"EndorsementPlugin '{other.endorsement_plugin}'"
            )
        if self.init_required != other.init_required:
            return (
                f"expected InitRequired '{str(self.init_required).lower()}' does not match "
                f"passed InitRequired '{str(other.init_required).lower()}'"
            )
        if self.validation_plugin != other.validation_plugin:
            return (
                f"expected ValidationPlugin '{self.validation_plugin}' does not match passed "
                f"ValidationPlugin '{other.validation_plugin}'"
            )
        if self.validation_parameter != other.validation_parameter:
            return (
                f"expected ValidationParameter '{self.validation_parameter.hex()}' does not "
                f"match passed ValidationParameter '{other.validation_parameter.hex()}'"
            )
        if self.collections_bytes() != other.collections_bytes():
            return "Collections do not match"
        return None

    @classmethod
    def from_fields(
        cls,
        name: str,
        sequence: int,
        endorsement_info: bytes,
        validation_info: bytes,
        collections: bytes,
    ) -> ChaincodeDefinition:
        ei = chaincode_definition_pb2.ChaincodeEndorsementInfo.FromString(endorsement_info)
        vi = chaincode_definition_pb2.ChaincodeValidationInfo.FromString(validation_info)
        pkg = collection_pb2.CollectionConfigPackage.FromString(collections)
        signature, ref = _split_policy(vi.validation_parameter)
        return cls(
            name=name,
            version=ei.version,
            sequence=sequence,
            endorsement_policy=signature,
            collections=pkg if pkg.config else None,
            policy_ref=ref,
            init_required=ei.init_required,
            endorsement_plugin=ei.endorsement_plugin,
            validation_plugin=vi.validation_plugin,
            recorded_validation_parameter=bytes(vi.validation_parameter),
        )

    @classmethod
    def from_args(
        cls,
        name: str,
        args: lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs
        | lifecycle_pb2.CommitChaincodeDefinitionArgs
        | lifecycle_pb2.CheckCommitReadinessArgs,
    ) -> ChaincodeDefinition:
        """A definition from a `_lifecycle` call's arguments, defaults not yet filled in."""
        signature, ref = _split_policy(args.validation_parameter)
        pkg = args.collections if args.collections.config else None
        return cls(
            name=name,
            version=args.version,
            sequence=args.sequence,
            endorsement_policy=signature,
            collections=pkg,
            policy_ref=ref,
            init_required=args.init_required,
            endorsement_plugin=args.endorsement_plugin,
            validation_plugin=args.validation_plugin,
            recorded_validation_parameter=bytes(args.validation_parameter),
        )

    def query_result(
        self, approvals: dict[str, bool] | None = None
    ) -> lifecycle_pb2.QueryChaincodeDefinitionResult:
        return lifecycle_pb2.QueryChaincodeDefinitionResult(
            sequence=self.sequence,
            version=self.version,
            endorsement_plugin=self.endorsement_plugin,
            validation_plugin=self.validation_plugin,
            validation_parameter=self.validation_parameter,
            collections=self.collections or collection_pb2.CollectionConfigPackage(),
            init_required=self.init_required,
            approvals=approvals or {},
        )


def _split_policy(raw: bytes) -> tuple[policies_pb2.SignaturePolicyEnvelope | None, str]:
    if not raw:
        return None, ""
    app = policy_pb2.ApplicationPolicy.FromString(raw)
    if app.WhichOneof("Type") == "signature_policy":
        return app.signature_policy, ""
    return None, app.channel_config_policy_reference


def local_package_structure(package_id: str) -> ser.Structure:
    return ser.Structure(LOCAL_PACKAGE_TYPE, (("PackageID", package_id),))


def package_id_hash(package_id: str) -> bytes:
    """The hash every peer holds of an org's chosen package: SHA-256 of StateData{String}."""
    return hashlib.sha256(ser.encode_field(package_id)).digest()


def definition_from(name: str, state: ser.ReadableState) -> ChaincodeDefinition | None:
    """Fabric's ChaincodeDefinitionIfDefined: metadata first, then every field, each read."""
    metadata = ser.deserialize_metadata(NAMESPACES, name, state)
    if metadata is None:
        return None
    if metadata.datatype != DEFINITION_TYPE:
        raise ser.LifecycleStateError(f"not a chaincode type: {metadata.datatype}")
    template = ChaincodeDefinition(name, "", 0, None).structure()
    values = ser.deserialize(NAMESPACES, name, metadata, template, state)
    return ChaincodeDefinition.from_fields(
        name,
        int(values["Sequence"]),
        bytes(values["EndorsementInfo"]),  # type: ignore[arg-type]
        bytes(values["ValidationInfo"]),  # type: ignore[arg-type]
        bytes(values["Collections"]),  # type: ignore[arg-type]
    )


class CommittedState:
    """`_lifecycle` public state read straight from a peer's committed state (no rwset)."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def get_state(self, key: str) -> bytes | None:
        vv = self.db.get(NAMESPACE, key)
        return vv.value if vv is not None else None


class CommittedOrgHashes:
    """An org's implicit collection of `_lifecycle` through the hashes a peer holds."""

    def __init__(self, db: StateDB, msp_id: str) -> None:
        self.db = db
        self.collection = implicit_collection(msp_id)

    def get_state_hash(self, key: str) -> bytes | None:
        hv = self.db.get_hashed(NAMESPACE, self.collection, hashlib.sha256(key.encode()).digest())
        return hv.value if hv is not None else None


@dataclass(frozen=True)
class LocalApproval:
    """What the peer's own org has approved for the committed definition (Fabric's lifecycle
    cache): approved or not, and the hash of the package id it chose (None: no package)."""

    approved: bool
    package_hash: bytes | None


def definitions_from_state(db: StateDB) -> Callable[[str], ChaincodeDefinition | None]:
    """A definition lookup over committed state. Endorsement and validation look definitions
    up several times per transaction; an answer is kept per state generation, and parsed again
    only when the chaincode's Sequence record moved (every commit of a definition writes it)."""
    parsed: dict[str, tuple[tuple[int, int], ChaincodeDefinition | None]] = {}
    answers: dict[str, tuple[int, ChaincodeDefinition | None]] = {}
    state = CommittedState(db)

    def lookup(name: str) -> ChaincodeDefinition | None:
        generation = db.generation  # read first: a commit after this makes the answer stale
        hit = answers.get(name)
        if hit is not None and hit[0] == generation:
            return hit[1]
        marker = db.get(NAMESPACE, ser.metadata_key(NAMESPACES, name))
        seq = db.get(NAMESPACE, sequence_key(name))
        d: ChaincodeDefinition | None = None
        if marker is not None and seq is not None:
            known = parsed.get(name)
            if known is not None and known[0] == seq.version:
                d = known[1]
            else:
                d = definition_from(name, state)
                parsed[name] = (seq.version, d)
        answers[name] = (generation, d)
        return d

    return lookup


def local_approval(db: StateDB, msp_id: str, d: ChaincodeDefinition) -> LocalApproval:
    """Whether `msp_id` approved `d` at its sequence and which package it chose, from hashes."""
    org = CommittedOrgHashes(db, msp_id)
    pname = private_name(d.name, d.sequence)
    ok, _ = ser.is_serialized(NAMESPACES, pname, d.parameters(), org)
    if not ok:
        return LocalApproval(False, None)
    if not ser.is_metadata_serialized(SOURCES, pname, local_package_structure(""), org):
        return LocalApproval(True, None)
    return LocalApproval(True, org.get_state_hash(ser.field_key(SOURCES, pname, "PackageID")))


def implicit_collection_config(msp_id: str) -> collection_pb2.StaticCollectionConfig:
    """Fabric's GenerateImplicitCollectionForOrg (peer counts 0: this engine has no gossip)."""
    principal = msp_principal_pb2.MSPPrincipal(
        principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
        principal=msp_principal_pb2.MSPRole(
            msp_identifier=msp_id, role=msp_principal_pb2.MSPRole.MEMBER
        ).SerializeToString(),
    )
    envelope = policies_pb2.SignaturePolicyEnvelope(
        version=0,
        rule=policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(
                n=1, rules=[policies_pb2.SignaturePolicy(signed_by=0)]
            )
        ),
        identities=[principal],
    )
    return collection_pb2.StaticCollectionConfig(
        name=implicit_collection(msp_id),
        member_orgs_policy=collection_pb2.CollectionPolicyConfig(signature_policy=envelope),
    )


def collection_package(collections: list[object]) -> collection_pb2.CollectionConfigPackage | None:
    """Collection configs from the topology's CollectionSpec entries, as `peer lifecycle
    chaincode approveformyorg --collections-config` builds them from the same values."""
    from ..policydsl import from_string

    if not collections:
        return None
    out = collection_pb2.CollectionConfigPackage()
    for c in collections:
        static = collection_pb2.StaticCollectionConfig(
            name=c.name,  # type: ignore[attr-defined]
            member_orgs_policy=collection_pb2.CollectionPolicyConfig(
                signature_policy=from_string(c.policy)  # type: ignore[attr-defined]
            ),
            required_peer_count=c.required_peer_count,  # type: ignore[attr-defined]
            maximum_peer_count=c.max_peer_count,  # type: ignore[attr-defined]
            block_to_live=c.block_to_live,  # type: ignore[attr-defined]
            member_only_read=c.member_only_read,  # type: ignore[attr-defined]
            member_only_write=c.member_only_write,  # type: ignore[attr-defined]
        )
        out.config.append(collection_pb2.CollectionConfig(static_collection_config=static))
    return out


def definition_for(
    name: str, version: str, sequence: int, endorsement: str, collections: list[object]
) -> ChaincodeDefinition:
    """The definition of a topology chaincode (the values `cbp network up` approves)."""
    from ..policydsl import from_string

    return ChaincodeDefinition(
        name=name,
        version=version,
        sequence=sequence,
        endorsement_policy=from_string(endorsement),
        collections=collection_package(collections),
    )
