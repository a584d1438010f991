"""`_lifecycle` as Fabric keeps it: definitions, org approvals, installed packages, the SCC.

`definition` (state layout, ChaincodeDefinition, implicit collections), `serializer` (Fabric's
field-per-key encoding), `functions` (approve, check readiness, commit, queries), `packages`
(installed ccaas packages) and `scc` (the system chaincode the endorser calls).
"""

from .definition import (
    DEFAULT_ENDORSEMENT_REF,
    IMPLICIT_PREFIX,
    LIFECYCLE_ENDORSEMENT_REF,
    NAMESPACE,
    ChaincodeDefinition,
    LocalApproval,
    definitions_from_state,
    implicit_collection,
    implicit_collection_config,
    implicit_msp,
    local_approval,
    package_id_hash,
    sequence_key,
)
from .functions import LifecycleError
from .packages import InstalledPackage, PackageError, PackageStore

__all__ = [
    "DEFAULT_ENDORSEMENT_REF",
    "IMPLICIT_PREFIX",
    "LIFECYCLE_ENDORSEMENT_REF",
    "NAMESPACE",
    "ChaincodeDefinition",
    "InstalledPackage",
    "LifecycleError",
    "LocalApproval",
    "PackageError",
    "PackageStore",
    "definitions_from_state",
    "implicit_collection",
    "implicit_collection_config",
    "implicit_msp",
    "local_approval",
    "package_id_hash",
    "sequence_key",
]
