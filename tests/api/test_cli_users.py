"""`hotline users add`: the password comes from standard input and is never shown."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.cli.users import register, run_add
from hotline.store.engine import create_engine
from hotline.store.models import User


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(argv)


async def test_users_add_reads_the_password_from_stdin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "users.db"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("HOTLINE_API_ARGON2_MEMORY_KIB", "64")
    config = Path(__file__).resolve().parents[2] / "config"
    secret = "s3cret-passw0rd"
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    code = await asyncio.to_thread(run_add, parse(
        ["users", "add", "leader", "--role", "department", "--department", "zjj",
         "--config", str(config)]))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert secret not in out.out + out.err
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with AsyncSession(engine) as session:
            user = (await session.execute(select(User))).scalar_one()
        assert user.username == "leader" and user.password_hash.startswith("$argon2id$")
        assert secret not in user.password_hash
    finally:
        await engine.dispose()
    # An agent user needs a known agent id.
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    code = await asyncio.to_thread(run_add, parse(
        ["users", "add", "x", "--role", "agent", "--agent", "nobody", "--config", str(config)]))
    assert code == 2 and "no agent" in capsys.readouterr().err
