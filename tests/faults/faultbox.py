"""What the faults tier's tests share: the sandbox they run on."""

from __future__ import annotations

from pathlib import Path

from network.paths import SandboxPaths
from network.sandbox import Sandbox
from network.topology import Topology


class FaultSandbox:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def paths(self) -> SandboxPaths:
        return self.sandbox.paths

    @property
    def topology(self) -> Topology:
        return self.sandbox.topology

    @property
    def profile(self) -> Path:
        return self.sandbox.paths.connection_profile
