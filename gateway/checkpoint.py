"""Checkpointers: where an event listener got to, so a restart neither misses nor repeats.

A checkpoint is a block number plus, inside that block, the last transaction already handled
(fabric-gateway's model). After a whole block: the next block number and no transaction id.
After one chaincode event: its block number and its transaction id; the gateway resumes in that
block just after that transaction.

`FileCheckpointer` writes a temporary file in the same folder, fsyncs it and `os.replace`s it
over the old one, so a crash leaves either the old or the new checkpoint, never a torn file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from gateway.errors import GatewayClientError

log = logging.getLogger(__name__)


class CheckpointError(GatewayClientError):
    """A checkpoint file cannot be read or written."""


@runtime_checkable
class Checkpoint(Protocol):
    """Where to resume from: read by event requests to choose their start position."""

    @property
    def block_number(self) -> int | None: ...

    @property
    def transaction_id(self) -> str | None: ...


class Checkpointer(Checkpoint, Protocol):
    """A `Checkpoint` that listeners advance as they finish handling events."""

    def checkpoint_block(self, block_number: int) -> None: ...

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None: ...

    def checkpoint_chaincode_event(self, event: _HasBlockAndTx) -> None: ...


class _HasBlockAndTx(Protocol):
    @property
    def block_number(self) -> int: ...

    @property
    def transaction_id(self) -> str: ...


class InMemoryCheckpointer:
    """A checkpointer that lives as long as the process (reconnect after a dropped stream)."""

    def __init__(self) -> None:
        self._block: int | None = None
        self._tx: str | None = None

    @property
    def block_number(self) -> int | None:
        return self._block

    @property
    def transaction_id(self) -> str | None:
        return self._tx

    def _set(self, block: int | None, tx: str | None) -> None:
        self._block, self._tx = block, tx

    def checkpoint_block(self, block_number: int) -> None:
        self._set(block_number + 1, None)

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        self._set(block_number, transaction_id)

    def checkpoint_chaincode_event(self, event: _HasBlockAndTx) -> None:
        self.checkpoint_transaction(event.block_number, event.transaction_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(block={self._block}, transaction_id={self._tx})"


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpointer persisted to a JSON file `{"blockNumber": "12", "transactionId": "..."}`.

    The file format is fabric-gateway's, so a Node or Go listener can take over from it.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise CheckpointError(f"checkpoint file {self.path}: {exc.strerror}") from exc
        if not text.strip():
            return
        try:
            state = json.loads(text)
            block = state.get("blockNumber")
            tx = state.get("transactionId")
            self._block = int(block) if block is not None else None
            self._tx = str(tx) if tx else None
        except (ValueError, AttributeError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint file {self.path} is not a checkpoint "
                '(expected {"blockNumber": "<n>", "transactionId": "<id>"})'
            ) from exc

    def _set(self, block: int | None, tx: str | None) -> None:
        state: dict[str, str] = {}
        if block is not None:
            state["blockNumber"] = str(block)
        if tx:
            state["transactionId"] = tx
        self._write(json.dumps(state))
        super()._set(block, tx)  # only once it is safely on disk

    def _write(self, text: str) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CheckpointError(f"checkpoint file {self.path}: {exc.strerror}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.debug("checkpoint %s -> %s", self.path, text)
