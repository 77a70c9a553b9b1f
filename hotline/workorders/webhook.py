"""The outbound webhook to an external work-order system, as pure functions.

Each history entry becomes one event. The body is canonical JSON (sorted keys, no
spaces, UTF-8), signed with HMAC-SHA256 over `"{timestamp}." + body` and sent with

    X-Hotline-Signature: t=1773100800,v1=<hex>
    Idempotency-Key: 12345-20260310-000123.7

The key names the event (order number + history sequence), not the attempt, so a
receiver that sees a retry can drop it. The shared secret comes from the environment
(`HOTLINE_WEBHOOK_SECRET`); `WebhookSecret` never shows it in a repr or a message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hotline.workorders.model import HistoryEntry, WorkOrder

SECRET_VARIABLE = "HOTLINE_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Hotline-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_VERSION = 1
MIN_SECRET_BYTES = 16


class WebhookSecret:
    """An HMAC key that does not leak through repr, str or logging."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"a webhook secret needs at least {MIN_SECRET_BYTES} bytes")
        self._key = key

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> WebhookSecret | None:
        """The secret from `environ` (pass `os.environ` at the composition root); None if unset."""
        value = environ.get(SECRET_VARIABLE, "")
        if not value:
            return None
        try:
            return cls(value.encode("utf-8"))
        except ValueError:
            raise ValueError(
                f"{SECRET_VARIABLE} is too short (at least {MIN_SECRET_BYTES} bytes)"
            ) from None

    def mac(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "WebhookSecret(***)"

    __str__ = __repr__


def _plain(value: Any) -> Any:
    """Dataclasses to dicts; enums are `StrEnum`, so they are strings already."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        kind = getattr(value, "kind", None)
        if kind is not None:  # actions name their kind (a ClassVar, not a field)
            out["kind"] = str(kind)
        return out
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def public_order(order: WorkOrder) -> dict[str, Any]:
    """The order as an external system sees it: everything but the history."""
    data: dict[str, Any] = _plain(order)
    data.pop("history")
    return data


def order_event(order: WorkOrder, entry: HistoryEntry) -> dict[str, Any]:
    """One event: the action that happened and the order as it is after it."""
    return {
        "version": EVENT_VERSION,
        "event": str(entry.action.kind),
        "number": order.number,
        "sequence": entry.sequence,
        "at": entry.at,
        "actor": {"role": str(entry.actor.role), "id": entry.actor.id,
                  "department": entry.actor.department},
        "action": _plain(entry.action),
        "before": str(entry.before),
        "after": str(entry.after),
        "order": public_order(order),
    }


def canonical_json(data: Any) -> bytes:
    """Stable bytes for signing: sorted keys, no whitespace, UTF-8 (Chinese kept as is)."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def idempotency_key(number: str, sequence: int) -> str:
    return f"{number}.{sequence}"


def signature(secret: WebhookSecret, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (epoch seconds)."""
    return f"t={timestamp},v1={secret.mac(f'{timestamp}.'.encode() + body)}"


def signed_request(
    secret: WebhookSecret, order: WorkOrder, entry: HistoryEntry, now: float
) -> tuple[bytes, dict[str, str]]:
    """Body and headers for one delivery attempt (only the timestamp varies per attempt)."""
    body = canonical_json(order_event(order, entry))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: signature(secret, int(now), body),
        IDEMPOTENCY_HEADER: idempotency_key(order.number, entry.sequence),
    }
    return body, headers


def verify_signature(
    secret: WebhookSecret, header: str, body: bytes, now: float, tolerance_s: float = 300.0
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance_s` of `now`.

    Several `v1=` values are accepted (a sender rotating secrets signs with both); each
    is compared in constant time. A stale or future timestamp fails: a captured request
    cannot be replayed later.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_s:
        return False
    expected = secret.mac(f"{timestamp}.".encode() + body)
    matched = False
    for candidate in candidates:  # no early exit: timing says nothing about which matched
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: first_delay_s, ×factor each time, at most cap_s apart, for max_age_s."""

    first_delay_s: float = 30.0
    factor: float = 2.0
    cap_s: float = 3600.0
    max_age_s: float = 86_400.0

    def __post_init__(self) -> None:
        if self.first_delay_s <= 0 or self.factor < 1 or self.cap_s < self.first_delay_s:
            raise ValueError("retry delays must be positive, growing and capped above the first")
        if self.max_age_s <= 0:
            raise ValueError("a delivery must be allowed some time")

    def delay(self, failed_attempts: int) -> float:
        """The wait after the `failed_attempts`-th failure (1-based)."""
        if failed_attempts < 1:
            raise ValueError("count failures from 1")
        # Exponent bounded: past the cap the exact power does not matter, and it would overflow.
        exponent = min(failed_attempts - 1, 64)
        return min(self.cap_s, self.first_delay_s * self.factor**exponent)

    def next_attempt_at(self, first_attempt_at: float, failed_attempts: int) -> float | None:
        """When to try again after `failed_attempts` failures; None once too old to deliver."""
        at = first_attempt_at + sum(self.delay(n) for n in range(1, failed_attempts + 1))
        return at if at - first_attempt_at <= self.max_age_s else None

    def schedule(self) -> tuple[float, ...]:
        """Offsets from the first attempt of every retry the policy allows."""
        offsets: list[float] = []
        at, failures = 0.0, 0
        while True:
            failures += 1
            at += self.delay(failures)
            if at > self.max_age_s:
                return tuple(offsets)
            offsets.append(at)


def worth_retrying(status: int | None) -> bool:
    """None is a network failure. 408/429/5xx are transient; other answers are final."""
    return status is None or status in (408, 425, 429) or status >= 500
