"""Handing a call from the FastAGI IVR to the ARI application, so one kernel (and one
ARI driver) owns every waiting caller.

The protocol, end to end:

1. The flow ends with `Enqueue`. The kernel puts the caller in the ACD in that same
   step and may already ask for `HoldWithMusic`, `Announce`, even `RingSeat`/`Bridge`.
2. The FastAGI driver (`hotline.telephony.agi.driver`) opens a ticket here at once
   (`HandOffs.open`, synchronously inside `execute`), finishes what the caller is still
   hearing, sets the channel variables below and ends AGI (`AgiSession.finish`).
3. The generated dialplan continues with ``Stasis(<app>,handoff,${HOTLINE_CALL_ID})``
   (`hotline.config.asterisk_conf`): ARI's `StasisStart` carries ``args ==
   ["handoff", "<call id>"]``. The call id is `<prefix><uniqueid>`: the channel's
   uniqueid is also its ARI id (`channel.id`), and the prefix (the FastAGI driver's
   `call_id_prefix`) is set to the ARI driver's (`<server>:`), so both name a call alike.
4. The ARI driver recognises that shape (`parse_stasis_args`), **does not post
   `CallArrived`** (the IVR ran already), and in one synchronous block claims the call
   in the runtime's router and `take`s the ticket: every command the kernel sent for the
   call meanwhile comes back in order and is executed on the ARI channel.
5. Any command for a call with an open ticket (whichever driver the router gave it
   to: the AGI driver as the call's owner, or the ARI driver as a seat's owner) goes to
   `defer`, not to the wire.
6. If the channel never reaches Stasis (the caller hung up in between, the ARI app is
   not connected), nobody takes the ticket: after a short deadline the AGI driver
   cancels it and posts `CallerHungUp`, so the ACD does not keep a ghost in the queue.

Channel variables set before the hand-off (all also readable over ARI):
`HOTLINE_ACTION=handoff`, `HOTLINE_CALL_ID`, `HOTLINE_LINE`, `HOTLINE_QUEUE`,
`HOTLINE_PRIORITY`, `HOTLINE_SKILLS` and `HOTLINE_TAGS` (comma-separated).

Pure bookkeeping on the event loop's thread: no I/O, no locks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from hotline.vocabulary.commands import Command

__all__ = [
    "HANDOFF_ARG",
    "HandOff",
    "HandOffTicket",
    "HandOffs",
    "is_safe_call_id",
    "parse_stasis_args",
    "stasis_args",
]

HANDOFF_ARG = "handoff"
"""First Stasis argument of a call handed over from FastAGI (a line number otherwise)."""

_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def is_safe_call_id(value: str) -> bool:
    """A call id that can travel as one dialplan argument (no `,` `(` `)` `$` space)."""
    return _CALL_ID.fullmatch(value) is not None


def stasis_args(call_id: str) -> tuple[str, str]:
    """What `StasisStart.args` holds for a hand-off: ``("handoff", call_id)``."""
    if not is_safe_call_id(call_id):
        raise ValueError(f"not a safe call id: {call_id!r}")
    return HANDOFF_ARG, call_id


def parse_stasis_args(args: Sequence[str]) -> str | None:
    """The handed-off call id when `args` is a hand-off, else None (a new call)."""
    if len(args) >= 2 and args[0] == HANDOFF_ARG and is_safe_call_id(args[1]):
        return args[1]
    return None


@dataclass(frozen=True, slots=True)
class HandOffTicket:
    """What the FastAGI side knew when the call left the IVR."""

    call_id: str
    line: str
    caller: str
    queue: str
    channel: str  # Asterisk channel name, e.g. PJSIP/trunk-00000003
    at: float
    priority: int = 0
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandOff:
    """A taken hand-off: the ticket and the commands the kernel sent meanwhile."""

    ticket: HandOffTicket
    commands: tuple[Command, ...]


@dataclass(slots=True)
class _Pending:
    ticket: HandOffTicket
    commands: list[Command] = field(default_factory=list)
    taken: asyncio.Event = field(default_factory=asyncio.Event)


class HandOffs:
    """Open hand-offs by call id; shared by the FastAGI and the ARI driver."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def open(self, ticket: HandOffTicket) -> asyncio.Event:
        """Open a ticket; the returned event is set when the ARI side takes it."""
        if ticket.call_id in self._pending:
            raise ValueError(f"a hand-off of {ticket.call_id!r} is already open")
        pending = _Pending(ticket)
        self._pending[ticket.call_id] = pending
        return pending.taken

    def is_pending(self, call_id: str) -> bool:
        return call_id in self._pending

    def defer(self, command: Command) -> bool:
        """Keep `command` for the driver that takes the call; False if no ticket is open."""
        call_id = getattr(command, "call_id", None)
        pending = self._pending.get(call_id) if isinstance(call_id, str) else None
        if pending is None:
            return False
        pending.commands.append(command)
        return True

    def take(self, call_id: str) -> HandOff | None:
        """The ARI side: the call's channel arrived in Stasis. None when no ticket is
        open (unknown, already taken, or given up): do not start the IVR again."""
        pending = self._pending.pop(call_id, None)
        if pending is None:
            return None
        pending.taken.set()
        return HandOff(pending.ticket, tuple(pending.commands))

    def cancel(self, call_id: str) -> tuple[Command, ...]:
        """The FastAGI side gives up (the channel never reached Stasis); returns the
        commands that were waiting, for the log."""
        pending = self._pending.pop(call_id, None)
        return () if pending is None else tuple(pending.commands)
