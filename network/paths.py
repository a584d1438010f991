"""Where the sandbox keeps its files: one folder, `CBP_HOME` (default `./.sandbox`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxPaths:
    home: Path

    @property
    def crypto(self) -> Path:
        return self.home / "crypto"

    @property
    def channel_artifacts(self) -> Path:
        return self.home / "channel-artifacts"

    def genesis_block(self, channel: str) -> Path:
        return self.channel_artifacts / f"{channel}.block"

    def chaincode_dir(self, chaincode: str) -> Path:
        return self.home / "chaincode" / chaincode

    def connection_json(self, chaincode: str) -> Path:
        return self.chaincode_dir(chaincode) / "connection.json"

    def chaincode_config(self, chaincode: str) -> Path:
        """What the chaincode server reads at start (`--config`): the network's orgs."""
        return self.chaincode_dir(chaincode) / "config.json"

    @property
    def connection_profile(self) -> Path:
        return self.home / "connection-profile.json"

    @property
    def ledger(self) -> Path:
        return self.home / "ledger"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def log(self, process: str) -> Path:
        return self.logs / f"{process}.log"

    @property
    def run(self) -> Path:
        return self.home / "run"

    def pidfile(self, process: str) -> Path:
        return self.run / f"{process}.pid"


def sandbox_paths(home: str | Path | None = None) -> SandboxPaths:
    return SandboxPaths(Path(home or os.environ.get("CBP_HOME") or ".sandbox").resolve())
