"""Chaincode definitions recorded in the `_lifecycle` namespace at deploy time.

The sandbox deploys the topology's chaincodes itself (there is no approve/commit dance between
org admins): at first start, or when the topology names a new sequence, the engine orders one
endorser transaction for `_lifecycle` whose write set records the definition under
`validator.definition_key(name)`, endorsed by every peer of the channel (so the channel's
LifecycleEndorsement policy is met) and signed by the BNA's admin. The committer reads the
definition back through `PeerLedger.chaincode_definition`.
"""

from __future__ import annotations

from fabric_protos.peer import collection_pb2
from fabric_protos.peer.lifecycle import db_pb2, lifecycle_pb2

from .policydsl import from_string
from .validator import LIFECYCLE_NS, ChaincodeDefinition, definition_key

NAMESPACE = LIFECYCLE_NS


def collection_package(collections: list[object]) -> collection_pb2.CollectionConfigPackage | None:
    """Collection configs from the topology's CollectionSpec entries."""
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
    return ChaincodeDefinition(
        name=name,
        version=version,
        sequence=sequence,
        endorsement_policy=from_string(endorsement),
        collections=collection_package(collections),
    )


def sequence_key(name: str) -> str:
    """Fabric's `_lifecycle` key of a chaincode's committed sequence; every endorsement of the
    chaincode reads it, so a transaction endorsed before an upgrade fails MVCC after it."""
    return f"namespaces/fields/{name}/Sequence"


def definition_writes(d: ChaincodeDefinition) -> dict[str, bytes]:
    """The `_lifecycle` key/values that record `d` as committed."""
    return {
        definition_key(d.name): d.to_proto().SerializeToString(),
        sequence_key(d.name): db_pb2.StateData(Int64=d.sequence).SerializeToString(),
    }


def commit_args(d: ChaincodeDefinition) -> lifecycle_pb2.CommitChaincodeDefinitionArgs:
    """The arguments of the `_lifecycle` CommitChaincodeDefinition call recording `d`."""
    q = d.to_proto()
    return lifecycle_pb2.CommitChaincodeDefinitionArgs(
        sequence=q.sequence,
        name=d.name,
        version=q.version,
        endorsement_plugin="escc",
        validation_plugin="vscc",
        validation_parameter=q.validation_parameter,
        collections=q.collections,
        init_required=q.init_required,
    )
