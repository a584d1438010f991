"""Finding the real Fabric binaries: `$FABRIC_BIN` first, then `PATH`."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import BinariesMissing

log = logging.getLogger(__name__)

REQUIRED = ("peer", "orderer", "osnadmin")

INSTALL_HINT = (
    "install the Hyperledger Fabric v3.1 binaries (peer, orderer, osnadmin; e.g. with Fabric's "
    "`install-fabric.sh binary`, see Fabric's 'Install Fabric and Fabric Samples' page) and set "
    "FABRIC_BIN to the folder that holds them, or put it on PATH"
)


@dataclass(frozen=True)
class FabricBinaries:
    peer: Path
    orderer: Path
    osnadmin: Path

    def version(self) -> str:
        """The peer's version (`peer version`), e.g. '3.1.5'."""
        out = subprocess.run(
            [str(self.peer), "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
        m = re.search(r"Version:\s*v?([0-9][^\s]*)", out)
        return m.group(1) if m else "unknown"


def _search_dirs(env: dict[str, str] | os._Environ[str]) -> list[Path]:
    dirs: list[Path] = []
    if env.get("FABRIC_BIN"):
        dirs.append(Path(env["FABRIC_BIN"]).expanduser())
    dirs += [Path(p) for p in env.get("PATH", "").split(os.pathsep) if p]
    return dirs


def find_binaries(env: dict[str, str] | None = None) -> FabricBinaries:
    """The three binaries the engine runs; raises BinariesMissing naming what to install."""
    environ = os.environ if env is None else env
    found: dict[str, Path] = {}
    fabric_bin = environ.get("FABRIC_BIN")
    if fabric_bin and not Path(fabric_bin).expanduser().is_dir():
        raise BinariesMissing(f"FABRIC_BIN={fabric_bin} is not a folder; {INSTALL_HINT}")
    for name in REQUIRED:
        for d in _search_dirs(environ):
            hit = shutil.which(name, path=str(d))
            if hit:
                found[name] = Path(hit)
                break
    missing = [n for n in REQUIRED if n not in found]
    if missing:
        where = f"FABRIC_BIN={fabric_bin} or PATH" if fabric_bin else "PATH (FABRIC_BIN is unset)"
        raise BinariesMissing(f"{', '.join(missing)} not found in {where}; {INSTALL_HINT}")
    log.debug("fabric binaries: %s", found)
    return FabricBinaries(found["peer"], found["orderer"], found["osnadmin"])


def binaries_available(env: dict[str, str] | None = None) -> bool:
    try:
        find_binaries(env)
    except BinariesMissing:
        return False
    return True
