"""The runtime's in-memory fact log: every accepted event and derived fact, numbered.

Sequence numbers start at 1 and have no gaps. The log keeps the newest `capacity`
records (a ring), which is what a lagging subscriber catches up from; the store keeps
the whole history. Asking for a record that has been overwritten raises `FellBehind`,
naming exactly which records were lost to the reader.
"""

from __future__ import annotations

from typing import Any


class FellBehind(Exception):
    """A reader wanted records the bounded log no longer holds."""

    def __init__(self, wanted: int, oldest: int) -> None:
        super().__init__(
            f"record {wanted} is gone from the fact log (it now starts at {oldest}); "
            f"records {wanted}..{oldest - 1} were missed: re-read them from the store"
        )
        self.wanted = wanted
        self.oldest = oldest


class FactLog:
    """A ring of the newest `capacity` records, addressed by sequence number."""

    __slots__ = ("_buf", "_capacity", "_next")

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("the fact log needs room for at least one record")
        self._capacity = capacity
        self._buf: list[Any] = [None] * capacity
        self._next = 1

    @property
    def next_seq(self) -> int:
        """The number the next record will get."""
        return self._next

    @property
    def oldest_seq(self) -> int:
        """The oldest number still held (== next_seq when the log is empty)."""
        return max(1, self._next - self._capacity)

    def __len__(self) -> int:
        return self._next - self.oldest_seq

    def append(self, record: Any) -> int:
        seq = self._next
        self._buf[seq % self._capacity] = record
        self._next = seq + 1
        return seq

    def get(self, seq: int) -> Any:
        if seq >= self._next or seq < 1:
            raise IndexError(f"no record {seq} yet (next is {self._next})")
        oldest = self.oldest_seq
        if seq < oldest:
            raise FellBehind(seq, oldest)
        return self._buf[seq % self._capacity]

    def since(self, seq: int) -> list[tuple[int, Any]]:
        """(seq, record) from `seq` to the newest; `FellBehind` if `seq` is gone."""
        if seq < self.oldest_seq:
            raise FellBehind(seq, self.oldest_seq)
        buf, cap = self._buf, self._capacity
        return [(s, buf[s % cap]) for s in range(max(seq, 1), self._next)]
