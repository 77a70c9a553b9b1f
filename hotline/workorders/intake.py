"""Creating orders: from an answered call, a recorded message or a missed call.

Order numbers read `12345-20260310-000123`: the hotline prefix, the centre's local date
and a per-day sequence. The sequence comes from a supplier passed in (the store's
per-day counter), so numbering is unique without this module holding any state.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hotline.workorders.catalogue import Catalogue
from hotline.workorders.model import Source, Suggestion, WorkOrder

MAX_SEQUENCE = 999_999
_NUMBER = re.compile(r"^(?P<prefix>[0-9A-Za-z]+)-(?P<day>[0-9]{8})-(?P<seq>[0-9]{6})$")
# How PBXs and carriers spell a withheld or unknown caller ID.
_WITHHELD = frozenset({"", "anonymous", "unknown", "withheld", "private", "restricted",
                       "unavailable", "none"})

SequenceSupplier = Callable[[dt.date], int]
"""Returns the next sequence number (1, 2, ...) for a local date; the store keeps it."""


def order_number(
    at: float, zone: ZoneInfo, next_sequence: SequenceSupplier, prefix: str = "12345"
) -> str:
    day = dt.datetime.fromtimestamp(at, tz=zone).date()
    sequence = next_sequence(day)
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence {sequence} for {day} is outside 1..{MAX_SEQUENCE}")
    return f"{prefix}-{day:%Y%m%d}-{sequence:06d}"


def parse_order_number(number: str) -> tuple[str, dt.date, int]:
    """(prefix, local date, sequence); ValueError when `number` is not an order number."""
    match = _NUMBER.match(number)
    if match is None:
        raise ValueError(f"{number!r} is not an order number like 12345-20260310-000123")
    day = dt.datetime.strptime(match["day"], "%Y%m%d").date()
    return match["prefix"], day, int(match["seq"])


def caller_number(raw: str | None) -> str | None:
    """A callback-able number, or None when withheld; `+86`/`0086` become a domestic form."""
    if raw is None or raw.strip().lower() in _WITHHELD:
        return None
    digits = re.sub(r"[^0-9+]", "", raw)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            rest = digits[len(prefix):]
            # Mobiles are dialled bare (13800138000); landlines keep their trunk 0 (025...).
            digits = rest if rest.startswith("1") else "0" + rest
    return digits or None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What the call leg knows when the agent opens the form (CDR-like)."""

    call_id: str
    line: str
    caller: str | None
    transcript: str = ""
    categories: tuple[Suggestion, ...] = ()  # from the classifier, best first or not
    departments: tuple[Suggestion, ...] = ()


def _ranked(suggestions: Sequence[Suggestion]) -> tuple[Suggestion, ...]:
    return tuple(sorted(suggestions, key=lambda s: -s.confidence))


def order_from_call(
    number: str,
    call: CallRecord,
    at: float,
    catalogue: Catalogue,
    mode: str = "normal",
    *,
    prefill_above: float = 0.6,
) -> WorkOrder:
    """A registered order pre-filled from the call; the agent confirms or corrects it.

    The category is pre-filled only when the best suggestion names a known category with
    at least `prefill_above` confidence: a wrong pre-fill costs more than an empty field.
    """
    categories = _ranked(call.categories)
    category = None
    if categories and categories[0].confidence >= prefill_above:
        found = catalogue.find(categories[0].label)
        category = found.code if found is not None else None
    return WorkOrder(
        number=number,
        created_at=at,
        source=Source.CALL,
        mode=mode,
        caller=caller_number(call.caller),
        line=call.line,
        call_id=call.call_id,
        transcript=call.transcript,
        content=call.transcript,
        category=category,
        suggested_categories=categories,
        suggested_departments=_ranked(call.departments),
    )


def order_from_message(
    number: str,
    *,
    caller: str | None,
    line: str,
    recording: str,
    at: float,
    call_id: str | None = None,
    transcript: str = "",
    mode: str = "normal",
) -> WorkOrder:
    """A voice message left out of hours or instead of waiting (留言)."""
    if not recording:
        raise ValueError("a message order needs its recording reference")
    return WorkOrder(
        number=number, created_at=at, source=Source.MESSAGE, mode=mode,
        caller=caller_number(caller), line=line, call_id=call_id, recording=recording,
        transcript=transcript, content=transcript,
    )


def order_from_missed_call(
    number: str, *, caller: str, line: str, at: float, call_id: str | None = None,
    mode: str = "normal",
) -> WorkOrder:
    """An abandoned call to be called back; pointless without a number to call."""
    reachable = caller_number(caller)
    if reachable is None:
        raise ValueError("a missed call with a withheld number cannot be called back")
    return WorkOrder(
        number=number, created_at=at, source=Source.MISSED_CALL, mode=mode,
        caller=reachable, line=line, call_id=call_id,
    )
