"""Where a CLI-tier command runs (imported by conftest.py and the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Place:
    """Where a command runs: the sandbox folder and port offset its environment names."""

    state: str
    home: Path
    offset: int

    def cbp(
        self, *argv: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cbp", *argv],
            cwd=REPO,
            env=self.environ(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "CBP_HOME": str(self.home),
            "CBP_PORT_OFFSET": str(self.offset),
            **(extra or {}),
        }
