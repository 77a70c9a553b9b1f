"""Creating orders from calls, messages and missed calls; finding probable duplicates."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.workorders.catalogue import Catalogue
from hotline.workorders.duplicates import DuplicateReason, find_duplicates, normalise_address
from hotline.workorders.intake import (
    CallRecord,
    caller_number,
    order_from_call,
    order_from_message,
    order_from_missed_call,
    order_number,
    parse_order_number,
)
from hotline.workorders.lifecycle import apply
from hotline.workorders.model import Merge, Source, Status, Suggestion

from .helpers import AGENT, DAY, SHANGHAI, T0, new_order


def test_order_numbers_use_the_local_date_and_the_days_sequence() -> None:
    seen: list[dt.date] = []

    def next_sequence(day: dt.date) -> int:
        seen.append(day)
        return 123

    # 23:30 UTC on 9 March is already 10 March in Shanghai.
    late_utc = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC).timestamp()
    assert order_number(late_utc, SHANGHAI, next_sequence) == "12345-20260310-000123"
    assert seen == [dt.date(2026, 3, 10)]
    assert parse_order_number("12345-20260310-000123") == ("12345", dt.date(2026, 3, 10), 123)
    with pytest.raises(ValueError):
        order_number(T0, SHANGHAI, lambda day: 1_000_000)
    with pytest.raises(ValueError):
        parse_order_number("12345-2026-1")


@given(st.lists(st.integers(1, 999_999), unique=True, min_size=2, max_size=20))
def test_distinct_sequences_give_distinct_numbers(sequences: list[int]) -> None:
    supply = iter(sequences)
    numbers = {order_number(T0, SHANGHAI, lambda day: next(supply)) for _ in sequences}
    assert len(numbers) == len(sequences)


@pytest.mark.parametrize(
    ("raw", "number"),
    [("13800138000", "13800138000"), ("+8613800138000", "13800138000"),
     ("0086 25 8456 1234", "02584561234"), ("025-8456-1234", "02584561234"),
     ("anonymous", None), ("", None), (None, None), ("Unknown", None)],
)
def test_caller_numbers(raw: str | None, number: str | None) -> None:
    assert caller_number(raw) == number


def test_order_from_a_call_is_prefilled_from_confident_suggestions(catalogue: Catalogue) -> None:
    call = CallRecord(
        call_id="1741572000.42", line="12345", caller="+8613800138000",
        transcript="我们小区电梯坏了三天了",
        categories=(Suggestion("物业服务", 0.2), Suggestion("电梯故障", 0.75)),
        departments=(Suggestion("市市场监督管理局", 0.7),),
    )
    order = order_from_call("12345-20260310-000001", call, T0, catalogue)
    assert order.status is Status.REGISTERED and order.source is Source.CALL
    assert order.caller == "13800138000" and order.call_id == "1741572000.42"
    assert order.category == "010302"
    assert order.suggested_categories[0] == Suggestion("电梯故障", 0.75)
    unsure = order_from_call("n", replace(call, categories=(Suggestion("电梯故障", 0.4),)), T0,
                             catalogue)
    assert unsure.category is None and unsure.suggested_categories


def test_orders_from_messages_and_missed_calls() -> None:
    message = order_from_message("n1", caller="anonymous", line="12345",
                                 recording="voicemail/2026/03/10/abc.wav", at=T0)
    assert message.source is Source.MESSAGE and message.caller is None
    with pytest.raises(ValueError, match="recording"):
        order_from_message("n2", caller=None, line="12345", recording="", at=T0)
    missed = order_from_missed_call("n3", caller="13800138000", line="12345", at=T0)
    assert missed.source is Source.MISSED_CALL and missed.caller == "13800138000"
    with pytest.raises(ValueError, match="withheld"):
        order_from_missed_call("n4", caller="anonymous", line="12345", at=T0)


def test_addresses_compare_without_spaces_widths_or_punctuation() -> None:
    spoken = "鼓楼区 中山路１号（南门）"
    assert normalise_address(spoken) == normalise_address("鼓楼区中山路1号南门")
    assert normalise_address("A栋-3单元") == normalise_address("a栋3单元")


def test_duplicates_by_caller_or_by_address_and_category() -> None:
    new = replace(new_order("N-new", T0), address="鼓楼区中山路1号", category="010302")
    same_caller = replace(new_order("N-caller", T0 - 2 * DAY), address="别处", category="0201")
    same_place = replace(new_order("N-place", T0 - DAY), caller="13900000000",
                         address="鼓楼区 中山路１号", category="010302")
    both = replace(new_order("N-both", T0 - 3 * DAY), address="鼓楼区中山路1号")
    too_old = replace(new_order("N-old", T0 - 8 * DAY), address="鼓楼区中山路1号")
    other_topic = replace(same_place, number="N-topic", category="0201")
    found = find_duplicates(new, [same_caller, same_place, both, too_old, other_topic, new], 7)
    assert [(c.number, c.reasons) for c in found] == [
        ("N-place", (DuplicateReason.SAME_ADDRESS_AND_CATEGORY,)),
        ("N-caller", (DuplicateReason.SAME_CALLER,)),
        ("N-both", (DuplicateReason.SAME_CALLER, DuplicateReason.SAME_ADDRESS_AND_CATEGORY)),
    ]


def test_withheld_numbers_and_merged_orders_are_not_candidates() -> None:
    withheld = replace(new_order("A", T0), caller=None)
    also_withheld = replace(new_order("B", T0 - DAY), caller=None)
    assert find_duplicates(withheld, [also_withheld], 7) == ()
    merged = apply(new_order("C", T0 - DAY), Merge("P"), AGENT, T0).order
    assert find_duplicates(new_order("D", T0), [merged], 7) == ()
