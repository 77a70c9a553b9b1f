"""Probable duplicates (并单 candidates): the same caller, or the same place and topic.

A candidate is only a suggestion to the agent; merging stays a human decision.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hotline.workorders.model import Closure, WorkOrder

DAY = 86_400.0
# Separators and punctuation people and ASR put in addresses differently each time.
_NOISE = re.compile(r"[\s\-_,.;:，。、；：（）()【】\[\]#·/\\]+")


class DuplicateReason(StrEnum):
    SAME_CALLER = "same_caller"
    SAME_ADDRESS_AND_CATEGORY = "same_address_and_category"


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    number: str
    reasons: tuple[DuplicateReason, ...]
    created_at: float


def normalise_address(address: str) -> str:
    """Width, case and punctuation folded: `鼓楼区 中山路１号` ~ `鼓楼区中山路1号`."""
    folded = unicodedata.normalize("NFKC", address).casefold()
    return _NOISE.sub("", folded)


def find_duplicates(
    order: WorkOrder, others: Iterable[WorkOrder], window_days: int
) -> tuple[DuplicateCandidate, ...]:
    """Orders created within `window_days` before or after `order` that look like it.

    Orders already merged away are skipped (merge into their parent instead); the
    result is newest first.
    """
    window = window_days * DAY
    address = normalise_address(order.address)
    found: list[DuplicateCandidate] = []
    for other in others:
        if other.number == order.number or other.closure is Closure.MERGED:
            continue
        if abs(other.created_at - order.created_at) > window:
            continue
        reasons: list[DuplicateReason] = []
        if order.caller is not None and other.caller == order.caller:
            reasons.append(DuplicateReason.SAME_CALLER)
        if (
            address
            and order.category is not None
            and other.category == order.category
            and normalise_address(other.address) == address
        ):
            reasons.append(DuplicateReason.SAME_ADDRESS_AND_CATEGORY)
        if reasons:
            found.append(DuplicateCandidate(other.number, tuple(reasons), other.created_at))
    return tuple(sorted(found, key=lambda c: (-c.created_at, c.number)))
