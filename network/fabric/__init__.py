"""The `fabric` engine: the sandbox topology on real Hyperledger Fabric v3.1 binaries.

    from network.fabric import FabricEngine
    FabricEngine(topology, paths, say=print).up()     # .status() / .down()

Binaries come from `$FABRIC_BIN` or `PATH` (peer, orderer, osnadmin). See README.md.
"""

from .binaries import FabricBinaries, binaries_available, find_binaries
from .engine import FabricEngine
from .errors import (
    BinariesMissing,
    CommandFailed,
    FabricError,
    MaterialMissing,
    NodeFailed,
    PortInUse,
)

__all__ = [
    "BinariesMissing",
    "CommandFailed",
    "FabricBinaries",
    "FabricEngine",
    "FabricError",
    "MaterialMissing",
    "NodeFailed",
    "PortInUse",
    "binaries_available",
    "find_binaries",
]
