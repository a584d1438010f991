"""A peer's installed chaincode packages (Fabric's `persistence.Store` and package parser).

Packages are kept as `<label>.<sha256>.tar.gz` in the peer's folder, the package id is
`<label>:<sha256 of the file>`, and the label must match Fabric's rule. The engine runs
chaincode as a service only: a package must hold `connection.json` in its `code.tar.gz`;
that file says where the chaincode server listens.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..tls import ChaincodeConnection, TLSConfigError

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_FILE = re.compile(r"^(.+)[.]([0-9a-f]{64})[.]tar[.]gz$")


class PackageError(ValueError):
    """A package that cannot be installed or found, with Fabric's wording."""


class PackageNotFound(PackageError):
    """Fabric's CodePackageNotFoundErr (the `_lifecycle` SCC answers 404 for it)."""

    def __init__(self, package_id: str) -> None:
        super().__init__(f"chaincode install package '{package_id}' not found")


@dataclass(frozen=True)
class InstalledPackage:
    package_id: str
    label: str
    type: str
    connection: ChaincodeConnection | None  # None: not a ccaas package this engine can run


def _files(tar_gz: bytes, what: str) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_gz), mode="r:gz") as tar:
            out: dict[str, bytes] = {}
            for member in tar.getmembers():
                if not member.isfile():
                    raise PackageError(
                        f"tar entry {member.name} is not a regular file, type {member.type!r}"
                    )
                f = tar.extractfile(member)
                out[member.name] = f.read() if f is not None else b""
            return out
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PackageError(f"error reading {what} as tar.gz: {exc}") from None


def parse_package(data: bytes) -> InstalledPackage:
    """Check a package as Fabric's parser does; the id is computed from `data`."""
    files = _files(data, "package")
    if "code.tar.gz" not in files:
        raise PackageError("did not find a code package inside the package")
    if "metadata.json" not in files:
        raise PackageError("did not find any package metadata (missing metadata.json)")
    try:
        meta = json.loads(files["metadata.json"])
    except json.JSONDecodeError as exc:
        raise PackageError(f"could not unmarshal metadata.json as json: {exc}") from None
    label = str(meta.get("label", ""))
    if not LABEL.match(label):
        raise PackageError(
            f"invalid label '{label}'. Label must be non-empty, can only consist of "
            "alphanumerics, symbols from '.+-_', and can only begin with alphanumerics"
        )
    kind = str(meta.get("type", ""))
    connection = None
    if kind.lower() == "ccaas":
        code = _files(files["code.tar.gz"], "code package")
        raw = code.get("connection.json")
        if raw is not None:
            try:
                connection = ChaincodeConnection.from_dict(
                    json.loads(raw), source=f"{label} connection.json"
                )
            except (json.JSONDecodeError, TLSConfigError) as exc:
                raise PackageError(f"connection.json of package {label}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    return InstalledPackage(f"{label}:{digest}", label, kind, connection)


class PackageStore:
    """Installed packages of one peer, on disk (0600: a ccaas package holds a TLS key).

    As Fabric's lifecycle cache at start, the files' names say what is installed; a package
    is read and parsed when it is first used."""

    def __init__(self, directory: Path | None) -> None:
        """`directory` None: a store in memory only (a peer built for a test)."""
        self.directory = Path(directory) if directory is not None else None
        self._lock = threading.Lock()
        self._files: dict[str, str] = {}  # package id -> file name
        self._parsed: dict[str, InstalledPackage] = {}
        self._data: dict[str, bytes] = {}
        self._by_hash: dict[bytes, str] = {}  # hash of the id as approvals record it -> id
        if self.directory is not None and self.directory.is_dir():
            for f in sorted(self.directory.iterdir()):
                m = _FILE.match(f.name)
                if m:
                    self._files[f"{m.group(1)}:{m.group(2)}"] = f.name

    def install(self, data: bytes) -> InstalledPackage:
        try:
            pkg = parse_package(data)
        except PackageError as exc:
            raise PackageError(f"could not parse as a chaincode install package: {exc}") from None
        with self._lock:
            if pkg.package_id in self._files:
                raise PackageError(
                    f"chaincode already successfully installed (package ID '{pkg.package_id}')"
                )
            self._store(pkg.package_id, data)
            self._parsed[pkg.package_id] = pkg
        return pkg

    def ensure(self, data: bytes, package_id: str) -> None:
        """Install the sandbox's own package `data` (whose id the caller computed) unless it
        is installed; it is parsed when first used."""
        with self._lock:
            if package_id not in self._files:
                self._store(package_id, data)

    def _store(self, package_id: str, data: bytes) -> None:
        label, digest = package_id.rsplit(":", 1)
        name = f"{label}.{digest}.tar.gz"
        if self.directory is None:
            self._data[package_id] = data
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / name
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        self._files[package_id] = name

    def get(self, package_id: str) -> InstalledPackage:
        with self._lock:
            pkg = self._parsed.get(package_id)
            known = package_id in self._files
        if pkg is not None:
            return pkg
        if not known:
            raise PackageNotFound(package_id)
        try:
            pkg = parse_package(self.load(package_id))
        except PackageError as exc:
            raise PackageError(f"installed package {package_id} is damaged: {exc}") from None
        with self._lock:
            self._parsed[package_id] = pkg
        return pkg

    def load(self, package_id: str) -> bytes:
        with self._lock:
            name = self._files.get(package_id)
        if name is None:
            raise PackageNotFound(package_id)
        if self.directory is None:
            return self._data[package_id]
        return (self.directory / name).read_bytes()

    def installed(self) -> list[InstalledPackage]:
        with self._lock:
            ids = sorted(self._files)
        return [self.get(pid) for pid in ids]

    def by_id_hash(self, package_hash: bytes) -> InstalledPackage | None:
        """The installed package whose id hashes (as an approval records it) to `package_hash`."""
        from .definition import package_id_hash

        with self._lock:
            if len(self._by_hash) != len(self._files):
                self._by_hash = {package_id_hash(pid): pid for pid in self._files}
            pid = self._by_hash.get(package_hash)
        return self.get(pid) if pid is not None else None
