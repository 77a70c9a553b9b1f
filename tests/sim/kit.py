"""What the kernel and simulator tests share: the sample centre's place, time and filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from hotline.vocabulary.states import CallStage

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
TZ = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 3, 10, 10, 0, tzinfo=TZ).timestamp()  # a Tuesday morning
C = TypeVar("C")
IN_ACD = frozenset({CallStage.WAITING, CallStage.RINGING, CallStage.TALKING})
"""The stages of a call the ACD holds."""


def only(commands: Sequence[object], kind: type[C]) -> list[C]:
    """The items of one type, in order."""
    return [c for c in commands if isinstance(c, kind)]
