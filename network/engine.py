"""`SandboxEngine`: what `cbp network up | status | down` asks of an engine, whichever runs.

Two classes implement it: `EmbeddedEngine` (network/embedded/engine.py: the project's
Fabric-compatible peers and orderer, a core and a process per peer) and `FabricEngine`
(network/fabric/engine.py: real Fabric binaries). The third way to run the topology, `docker-compose-fabric.yml`, runs the
same Fabric nodes in containers; `FabricEngine.attach` then joins channels and deploys chaincode
on them, starting nothing.

The sandbox writes what every engine shares first (identities, genesis blocks, connection
profile, each chaincode's connection.json and config.json: `Sandbox.prepare`), then:

    engine.listeners()       checked free before anything starts, or a SandboxError says which
    engine.begin()           check what it needs (fabric: the binaries) and start what may run
                             while `prepare` writes (embedded: the launchers)
    engine.up()              start, and wait until it serves
    engine.start_chaincodes([...])   servers `up` does not start (autostart: false)
    engine.status()          what the engine adds to `cbp network status` (None: nothing)
    engine.down()            stop what this engine started, by pid
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

Engine = Literal["embedded", "fabric"]
Say = Callable[[str], None]


class SandboxEngine(Protocol):
    name: Engine

    def listeners(self) -> list[tuple[str, int]]:
        """Every (listener, port) this engine opens on the topology's host."""
        ...

    def begin(self) -> None: ...

    def up(self) -> None: ...

    def start_chaincodes(self, names: list[str]) -> None: ...

    def status(self) -> dict[str, Any] | None: ...

    def down(self) -> list[str]: ...
