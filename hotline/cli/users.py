"""`hotline users add NAME --role ROLE [--agent ID | --department CODE]`.

The password is read from standard input: typed without echo at a terminal (twice), or
the first line of a pipe (`printf '%s\\n' "$PW" | hotline users add ...`). It never
appears on the command line, in the output or in a log. The database is the one named
by `HOTLINE_DATABASE_URL` (SQLite `hotline.db` by default), migrated to the newest
schema first; departments and agents are synchronised from the centre's configuration
so `--agent` and `--department` can name them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any

from hotline.api.accounts import UserError, add_user
from hotline.api.security import Passwords
from hotline.api.settings import ApiSettings
from hotline.api.sync import sync_reference_data
from hotline.config.loader import load_centre
from hotline.store.engine import create_engine, database_url_from_env, show_url
from hotline.store.migrate import upgrade
from hotline.store.models import UserRole
from hotline.vocabulary.problems import ConfigError
from hotline.workorders.catalogue import load_catalogue


def register(sub: Any) -> None:
    users = sub.add_parser("users", help="manage the users of the API and web pages")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser(
        "add", help="add a user (password from standard input)",
        description="Add a user. The password is read from standard input, never from "
        "the command line.",
    )
    add.add_argument("name", help="the username (1-64 characters)")
    add.add_argument("--role", required=True, choices=[r.value for r in UserRole])
    who = add.add_mutually_exclusive_group()
    who.add_argument("--agent", metavar="ID", help="the agent id (role agent)")
    who.add_argument("--department", metavar="CODE", help="the department code (role department)")
    add.add_argument("--config", type=Path, default=Path("config"), metavar="DIR",
                     help="the centre's configuration directory (default: config)")
    add.set_defaults(func=run_add)


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != first:
            raise UserError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_add(args: argparse.Namespace) -> int:
    try:
        password = read_password()
        centre = load_centre(args.config)
        catalogue = load_catalogue(args.config / "workorders.yaml",
                                   calendars=centre.config.holidays, modes=centre.config.modes)
    except (UserError, ConfigError, OSError) as exc:
        print(f"hotline users add: {exc}", file=sys.stderr)
        return 2
    settings = ApiSettings.from_environ()
    url = database_url_from_env()

    async def add() -> int:
        await upgrade(url)
        engine = create_engine(url)
        try:
            await sync_reference_data(engine, centre, catalogue)
            return await add_user(
                engine, Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
                args.name, password, UserRole(args.role), agent_id=args.agent,
                department=args.department,
            )
        finally:
            await engine.dispose()

    try:
        user_id = asyncio.run(add())
    except UserError as exc:
        print(f"hotline users add: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.name} ({args.role}) added with id {user_id} to {show_url(url)}")
    return 0
