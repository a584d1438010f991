"""Batching of ordered envelopes into blocks, as Fabric's `orderer/common/blockcutter` does it.

A batch is cut when it reaches MaxMessageCount, or before a message that would push it past
PreferredMaxBytes; a message larger than PreferredMaxBytes travels alone. The batch timer (the
BatchTimeout) belongs to the caller: it calls `cut()` when the first pending message is older.
A message's size is len(payload) + len(signature) of its envelope.
"""

from __future__ import annotations

import time

from fabric_protos.common import common_pb2


class MessageTooLarge(ValueError):
    """An envelope exceeds the channel's AbsoluteMaxBytes (Broadcast refuses it)."""

    @classmethod
    def of(cls, size: int, limit: int) -> MessageTooLarge:
        return cls(f"message of {size} bytes exceeds the channel's AbsoluteMaxBytes ({limit})")


def message_size(env_bytes: bytes) -> int:
    env = common_pb2.Envelope.FromString(env_bytes)
    return len(env.payload) + len(env.signature)


class BlockCutter:
    def __init__(
        self,
        max_message_count: int,
        preferred_max_bytes: int,
        absolute_max_bytes: int,
        *,
        one_tx_per_block: bool = False,
    ) -> None:
        if max_message_count < 1:
            raise ValueError(f"max_message_count {max_message_count} must be at least 1")
        self.max_message_count = 1 if one_tx_per_block else max_message_count
        self.preferred_max_bytes = preferred_max_bytes
        self.absolute_max_bytes = absolute_max_bytes
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.pending_since: float | None = None

    def check_size(self, env_bytes: bytes, size: int | None = None) -> int:
        size = message_size(env_bytes) if size is None else size
        if size > self.absolute_max_bytes:
            raise MessageTooLarge.of(size, self.absolute_max_bytes)
        return size

    def ordered(self, env_bytes: bytes, size: int | None = None) -> tuple[list[list[bytes]], bool]:
        """Add one envelope; returns (batches cut now, whether messages remain pending)."""
        size = message_size(env_bytes) if size is None else size
        batches: list[list[bytes]] = []
        if size > self.preferred_max_bytes:
            if self._pending:
                batches.append(self.cut())
            batches.append([env_bytes])
            return batches, False
        if self._pending and self._pending_bytes + size > self.preferred_max_bytes:
            batches.append(self.cut())
        if not self._pending:
            self.pending_since = time.monotonic()
        self._pending.append(env_bytes)
        self._pending_bytes += size
        if len(self._pending) >= self.max_message_count:
            batches.append(self.cut())
            return batches, False
        return batches, True

    def cut(self) -> list[bytes]:
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        self.pending_since = None
        return batch

    @property
    def pending(self) -> int:
        return len(self._pending)
