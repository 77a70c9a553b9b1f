"""Times of day as the configuration writes them: `"08:30"`, with `"24:00"` as end of day.

The one parser for HH:MM: the YAML schema, rosters, the simulator's scenarios and the
flow model all read clock times through it.
"""

from __future__ import annotations

import re
from datetime import time

MINUTES_PER_DAY = 24 * 60

_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_hhmm(text: str) -> int:
    """`"08:30"` -> 510 minutes after midnight; `"24:00"` (1440) is allowed as end of day.

    Raises ValueError (so pydantic validators report it at the field) for anything else.
    """
    match = _HHMM.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (e.g. 08:30)")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is past 24:00")
    return minutes


def show_hhmm(minutes: int) -> str:
    """510 -> `"08:30"`; the inverse of `parse_hhmm`."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def time_of_day(text: str) -> time:
    """`"08:30"` -> `time(8, 30)`. `"24:00"` has no `time`; it is refused here."""
    minutes = parse_hhmm(text)
    if minutes == MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is the end of the day, not a time of day; write 00:00")
    return time(minutes // 60, minutes % 60)
