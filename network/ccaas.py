"""Chaincode-as-a-service install packages, as both engines install them.

A ccaas package is a tar.gz of `metadata.json` ({"type": "ccaas", "label": ...}) and
`code.tar.gz` holding `connection.json`. Packages are built byte-for-byte reproducibly (fixed
mtimes and owners, gzip without a timestamp), so the package id - `label:sha256(package)`, as
Fabric computes it - is the same on every `up` and on either engine, and the running chaincode
server keeps matching it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from network.topology import Topology


def _tar_gz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def package_label(name: str, version: str) -> str:
    return f"{name}_{version}"


def build_package(connection_json: bytes, label: str) -> bytes:
    """The package bytes for one chaincode server's connection.json."""
    code = _tar_gz({"connection.json": connection_json})
    meta = json.dumps({"type": "ccaas", "label": label}, sort_keys=True).encode()
    return _tar_gz({"code.tar.gz": code, "metadata.json": meta})


def package_id(label: str, package: bytes) -> str:
    """Fabric's package id: the label and the SHA-256 of the whole package file."""
    return f"{label}:{hashlib.sha256(package).hexdigest()}"


def topology_package(topology: Topology, name: str, connection_json: Path) -> tuple[str, bytes]:
    """(package id, package bytes) of a topology chaincode, from its connection.json."""
    cc = topology.chaincodes[name]
    label = package_label(name, cc.version)
    data = build_package(connection_json.read_bytes(), label)
    return package_id(label, data), data
