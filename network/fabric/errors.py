"""Errors of the `fabric` engine, each naming the node, the rule and the file to read.

FabricError
├── BinariesMissing      peer / orderer / osnadmin not found in $FABRIC_BIN or PATH
├── MaterialMissing      identities or genesis blocks not generated before `up`
├── PortInUse            a node's port is taken by a process this engine did not start
├── NodeFailed           a node exited or never became healthy (with its log file)
└── CommandFailed        a `peer` / `osnadmin` command failed (with its output)
"""

from __future__ import annotations

from pathlib import Path


class FabricError(Exception):
    """Anything the real-Fabric engine could not do."""


class BinariesMissing(FabricError):
    pass


class MaterialMissing(FabricError):
    pass


class PortInUse(FabricError):
    def __init__(self, node: str, port: int, log: Path) -> None:
        super().__init__(
            f"{node}: port {port} is already in use by another process; free it or set "
            f"CBP_PORT_OFFSET to move the whole sandbox (log: {log})"
        )
        self.node = node
        self.port = port
        self.log = log


class NodeFailed(FabricError):
    def __init__(self, node: str, reason: str, log: Path) -> None:
        super().__init__(f"{node}: {reason}; read its log {log}")
        self.node = node
        self.log = log


class CommandFailed(FabricError):
    def __init__(self, what: str, command: list[str], output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(f"{what} failed: {' '.join(command)}\n{tail}")
        self.what = what
        self.command = command
        self.output = output
