"""U+0000 in a record never stalls the store's writers: PostgreSQL cannot hold it in text
or JSONB, so the store writes U+FFFD in its place (on SQLite too, so both agree)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.store.calls import get_call, upsert_calls
from hotline.store.engine import _json_serializer, without_nul
from hotline.store.factlog import FactWriter, WriterState, load_records
from hotline.store.models import ModeSwitch
from hotline.store.modes import record_mode_switch
from hotline.vocabulary.events import AgentPaused
from hotline.vocabulary.facts import ModeChanged


def test_json_text_loses_only_real_nul_characters() -> None:
    value = {"a": "x\x00y", "b": "\\u0000", "c": "\\\x00", "d": ["\x00"], "e": "正常"}
    decoded = json.loads(_json_serializer(value))
    assert decoded == {"a": "x\ufffdy", "b": "\\u0000", "c": "\\\ufffd", "d": ["\ufffd"],
                       "e": "正常"}
    assert without_nul("a\x00b\x00") == "a\ufffdb\ufffd"
    assert without_nul("plain") == "plain"


async def test_a_record_with_nul_is_logged_and_the_log_moves_on(
        engine: AsyncEngine, spill_path: Path) -> None:
    writer = FactWriter(engine, spill_path)
    task = asyncio.create_task(writer.run())
    writer.submit(1, AgentPaused("1001", "meal\x00<script>", 10.0))
    writer.submit(2, AgentPaused("1002", "training", 11.0))
    await asyncio.wait_for(writer.flush(), 30)
    await writer.stop()
    await asyncio.wait_for(task, 30)
    assert writer.health().state is WriterState.OK
    assert await load_records(engine) == [
        (1, AgentPaused("1001", "meal\ufffd<script>", 10.0)),
        (2, AgentPaused("1002", "training", 11.0)),
    ]


async def test_cdr_and_audit_rows_with_nul_are_written(engine: AsyncEngine) -> None:
    await upsert_calls(engine, [{"call_id": "c-nul", "line": "12345", "caller": "138\x00",
                                 "arrived_at": 1.0, "tags": ["a\x00"]}])
    call = await get_call(engine, "c-nul")
    assert call is not None and call["caller"] == "138\ufffd" and call["tags"] == ["a\ufffd"]
    async with engine.begin() as connection:
        await record_mode_switch(
            connection, 1, ModeChanged("normal", "emergency", "supervisor:x", "why\x00", 1.0))
        reason = await connection.scalar(select(ModeSwitch.reason))
    assert reason == "why\ufffd"
