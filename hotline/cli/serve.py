"""`hotline serve`: run the centre (store, restored kernel, runtime, API, drivers).

    hotline serve [--config DIR] [--db URL] [--host H] [--port P]
                  [--simulate [SCENARIO] [--speed N] [--seed N] | --no-simulate]
                  [--no-asterisk] [--standby] [--spill FILE]

The database is `--db`, else `HOTLINE_DATABASE_URL`, else the SQLite file
`var/hotline.db`; the password of a PostgreSQL URL belongs in the environment
(`HOTLINE_DATABASE_PASSWORD`), never on the command line. The API binds to
`HOTLINE_BIND_HOST` (127.0.0.1 by default) and `HOTLINE_PORT` (8000) unless `--host` /
`--port` say otherwise.

With an Asterisk (`HOTLINE_ARI_URL` or `ASTERISK_ARI_URL`, `HOTLINE_ARI_USER`,
`HOTLINE_ARI_PASSWORD`; AMI presence with `HOTLINE_AMI_SECRET`; FastAGI on
`HOTLINE_AGI_HOST:HOTLINE_AGI_PORT`, 127.0.0.1:4573; several servers with
`HOTLINE_ASTERISK_SERVERS`: see `hotline.config.settings`) the centre takes its calls
from it; `--no-asterisk` ignores it. Without one the simulator feeds calls in real time
from `scenarios/emergency_day.yaml`, unless `--no-simulate`; simulated and real callers
do not mix (the simulator rings every seat itself).
SIGINT / SIGTERM stop it gracefully. Exit codes: 0 stopped, 1 failed, 2 refused (bad
options, or another process is active and `--standby` was not given), 3 demoted (the
election lock was lost), 4 taken over (another client opened the ARI application).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from hotline.api.settings import ApiSettings
from hotline.asr.errors import AsrError
from hotline.asr.settings import AsrSettings
from hotline.config.loader import load_centre
from hotline.config.settings import Settings, SettingsError
from hotline.service.election import StandbyRefused
from hotline.service.server import (
    EXIT_FAILED,
    EXIT_REFUSED,
    CentreService,
    ServeOptions,
    StoreAhead,
    async_url,
)
from hotline.service.telephony import TelephonyOptions
from hotline.simulation.scenario import Scenario, check_against_centre, load_scenario
from hotline.store.engine import database_url_from_env
from hotline.telephony.ari.driver import AriDriverSettings
from hotline.telephony.spoken import SpokenSettings
from hotline.vocabulary.problems import ConfigError
from hotline.workorders.catalogue import load_catalogue

DEFAULT_SCENARIO = Path("scenarios/emergency_day.yaml")
DEFAULT_DATABASE = Path("var/hotline.db")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "serve", help="run the centre: store, API, wallboard, agents' desks, drivers",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, default=Path("config"), metavar="DIR",
                        help="the centre's configuration directory (default: config)")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="database URL (default: HOTLINE_DATABASE_URL, else "
                        "sqlite var/hotline.db)")
    parser.add_argument("--host", default=None,
                        help="address to bind (default: HOTLINE_BIND_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default: HOTLINE_PORT or 8000; 0 picks a free one)")
    simulate = parser.add_mutually_exclusive_group()
    simulate.add_argument("--simulate", nargs="?", const=DEFAULT_SCENARIO, default=None,
                          type=Path, metavar="SCENARIO",
                          help="feed simulated calls in real time (default scenario: "
                          f"{DEFAULT_SCENARIO})")
    simulate.add_argument("--no-simulate", action="store_true",
                          help="no simulated calls even without an Asterisk")
    parser.add_argument("--no-asterisk", action="store_true",
                        help="do not connect to the Asterisk the environment names")
    parser.add_argument("--speed", type=float, default=1.0, metavar="N",
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="the simulator's seed")
    parser.add_argument("--standby", action="store_true",
                        help="wait as a hot standby (PostgreSQL only) and take over when "
                        "the active process stops")
    parser.add_argument("--spill", type=Path, default=None, metavar="FILE",
                        help="where fact records wait while the database is down")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])
    parser.set_defaults(func=run_serve)


def _fail(message: str) -> int:
    print(f"hotline serve: {message}", file=sys.stderr)
    return EXIT_REFUSED


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_environ()
        api_settings = ApiSettings.from_environ()
        asr = AsrSettings.from_env()
    except (SettingsError, ValueError) as exc:
        return _fail(str(exc))
    servers = () if args.no_asterisk else settings.asterisk()
    if servers and args.simulate is not None:
        return _fail("--simulate cannot run beside an Asterisk: the simulator rings every "
                     "seat itself and runs on its own clock (--no-asterisk to simulate here)")
    try:
        url = async_url(args.db) if args.db else async_url(
            database_url_from_env(default=DEFAULT_DATABASE))
    except ArgumentError as exc:
        return _fail(f"not a database URL: {exc}")
    if args.standby and url.get_backend_name() != "postgresql":
        return _fail("--standby needs PostgreSQL: two processes elect the active one "
                     "through a PostgreSQL advisory lock, and SQLite is a single-process "
                     "store (give --db postgresql+asyncpg://... or HOTLINE_DATABASE_URL)")
    if not args.speed > 0:
        return _fail("--speed must be a positive number")
    try:
        centre = load_centre(args.config)
        catalogue = load_catalogue(args.config / "workorders.yaml",
                                   calendars=centre.config.holidays, modes=centre.config.modes)
        scenario: Scenario | None = None
        path: Path | None = args.simulate
        if path is None and not args.no_simulate and not servers:
            path = DEFAULT_SCENARIO
            print("hotline serve: no Asterisk configured (HOTLINE_ARI_URL unset): "
                  f"simulated calls from {path} (--no-simulate to run without)", flush=True)
        if path is not None:
            scenario, _ = load_scenario(path)
            check_against_centre(scenario, path, centre)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        return _fail(str(exc))
    options = ServeOptions(
        database_url=url,
        host=args.host or settings.bind_host,
        port=settings.port if args.port is None else args.port,
        scenario=scenario, speed=args.speed, seed=args.seed, standby=args.standby,
        spill_path=args.spill, api=api_settings,
        telephony=TelephonyOptions(
            servers=servers, media_host=settings.media_host, media_port=settings.media_port,
            asr=asr, ari_driver=AriDriverSettings(
                dial_template=settings.dial_template,
                callback_caller_id=settings.callback_caller_id, moh_class=settings.moh_class),
            spoken=SpokenSettings(settings.sounds_dir) if settings.sounds_dir else None,
            prompts=centre.prompts, config_dir=args.config,
        ) if servers else None,
    )
    service = CentreService(options, centre, catalogue, out=sys.stdout)
    try:
        return asyncio.run(_main(service))
    except (StandbyRefused, StoreAhead) as exc:
        return _fail(str(exc))
    except (SQLAlchemyError, OSError, AsrError) as exc:
        logging.getLogger("hotline.service").debug("start-up failed", exc_info=True)
        print(f"hotline serve: {type(exc).__name__}: {str(exc).splitlines()[0]}",
              file=sys.stderr)
        return EXIT_FAILED


async def _main(service: CentreService) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await service.run(stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(argv: list[str] | None = None) -> int:
    """`python -m hotline.cli.serve ...`: the same as `hotline serve ...`."""
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
