"""The outbound webhook: canonical body, signature, idempotency, retries."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.workorders.lifecycle import apply
from hotline.workorders.model import HistoryEntry, WorkOrder
from hotline.workorders.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    RetryPolicy,
    WebhookSecret,
    canonical_json,
    order_event,
    signature,
    signed_request,
    verify_signature,
    worth_retrying,
)

from .helpers import AGENT, T0, dispatch, new_order

SECRET_TEXT = "s3cret-s3cret-s3cret"
SECRET = WebhookSecret(SECRET_TEXT.encode())


def dispatched() -> tuple[WorkOrder, HistoryEntry]:
    applied = apply(new_order(), dispatch(), AGENT, T0)
    return applied.order, applied.entry


def test_secret_comes_from_the_environment_and_never_shows() -> None:
    secret = WebhookSecret.from_environment({"HOTLINE_WEBHOOK_SECRET": SECRET_TEXT})
    assert secret is not None
    assert SECRET_TEXT not in repr(secret) and SECRET_TEXT not in str(secret)
    assert SECRET_TEXT not in repr({"s": secret})
    assert WebhookSecret.from_environment({}) is None
    with pytest.raises(ValueError) as caught:
        WebhookSecret.from_environment({"HOTLINE_WEBHOOK_SECRET": "short"})
    assert "short" not in str(caught.value).replace("too short", "")


def test_event_body_is_canonical_json_of_the_order_after_the_action() -> None:
    order, entry = dispatched()
    event = order_event(order, entry)
    assert event["event"] == "dispatch" and event["sequence"] == 1
    assert event["order"]["status"] == "dispatched" and "history" not in event["order"]
    assert event["action"]["department"] == "fgj"
    body = canonical_json(event)
    assert json.loads(body) == json.loads(json.dumps(event))
    assert "小区电梯坏了".encode() in body  # UTF-8, not \\u escapes
    assert b": " not in body and body == canonical_json(json.loads(body))


def test_signature_round_trip_and_tamper_detection() -> None:
    order, entry = dispatched()
    body, headers = signed_request(SECRET, order, entry, now=T0)
    header = headers[SIGNATURE_HEADER]
    assert verify_signature(SECRET, header, body, now=T0 + 10)
    assert not verify_signature(SECRET, header, body + b" ", now=T0 + 10)
    assert not verify_signature(SECRET, header, body.replace(b"fgj", b"zjj"), now=T0)
    assert not verify_signature(WebhookSecret(b"another-secret-value"), header, body, now=T0)
    assert not verify_signature(SECRET, header, body, now=T0 + 301)  # replayed later
    assert not verify_signature(SECRET, header, body, now=T0 - 301)
    forged_time = header.replace(f"t={int(T0)}", f"t={int(T0) + 100}")
    assert not verify_signature(SECRET, forged_time, body, now=T0 + 100)
    for garbage in ("", "t=abc,v1=00", "v1=" + "0" * 64, f"t={int(T0)}"):
        assert not verify_signature(SECRET, garbage, body, now=T0)


def test_rotation_accepts_any_listed_signature() -> None:
    body = b"{}"
    old = WebhookSecret(b"old-secret-old-secret")
    both = signature(SECRET, int(T0), body) + "," + signature(old, int(T0), body).split(",")[1]
    assert verify_signature(old, both, body, T0) and verify_signature(SECRET, both, body, T0)


def test_idempotency_key_is_stable_across_retries() -> None:
    order, entry = dispatched()
    _, first = signed_request(SECRET, order, entry, now=T0)
    _, retry = signed_request(SECRET, order, entry, now=T0 + 600)
    assert first[IDEMPOTENCY_HEADER] == retry[IDEMPOTENCY_HEADER] == f"{order.number}.1"
    assert first[SIGNATURE_HEADER] != retry[SIGNATURE_HEADER]


def test_retry_schedule_backs_off_to_a_cap_and_stops_at_the_maximum_age() -> None:
    policy = RetryPolicy(first_delay_s=30, factor=2, cap_s=600, max_age_s=3600)
    assert [policy.delay(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]
    assert policy.schedule() == (30, 90, 210, 450, 930, 1530, 2130, 2730, 3330)
    assert policy.next_attempt_at(T0, 1) == T0 + 30
    assert policy.next_attempt_at(T0, 9) == T0 + 3330
    assert policy.next_attempt_at(T0, 10) is None
    assert policy.delay(10_000) == 600  # no overflow however long it has failed


@given(st.integers(1, 200))
def test_retries_never_shrink_and_never_exceed_the_cap(failures: int) -> None:
    policy = RetryPolicy()
    assert policy.delay(failures) <= policy.cap_s
    assert policy.delay(failures + 1) >= policy.delay(failures)


def test_which_answers_are_worth_retrying() -> None:
    assert worth_retrying(None) and worth_retrying(503) and worth_retrying(429)
    assert not worth_retrying(200) and not worth_retrying(400) and not worth_retrying(401)
