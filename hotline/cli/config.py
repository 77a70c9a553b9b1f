"""`hotline check [DIR]` and `hotline describe [DIR]`: validate and summarise a centre."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from hotline.config.asterisk_conf import (
    DEFAULT_APP,
    LOOPBACK,
    AsteriskOptions,
    DynamicObject,
    SecretsError,
    dynamic_objects,
    generate_centre,
    seat_passwords,
    secret_files,
)
from hotline.config.loader import Centre, load_centre
from hotline.ivr.durations import catalogue_speaker, time_to_queue
from hotline.vocabulary.problems import ConfigError

DEFAULT_DIR = "config"


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check",
        help="check a centre's configuration; print every problem as file:line:col",
        description="Load the centre (centre.yaml, included files, flows, prompts) and "
        "report every problem at once. Exit code 0 when the centre is valid, 1 otherwise.",
    )
    check.add_argument("directory", nargs="?", default=DEFAULT_DIR,
                       help=f"the centre's directory or its centre.yaml (default: {DEFAULT_DIR})")
    check.set_defaults(func=run_check)
    describe = subparsers.add_parser(
        "describe", help="summarise a centre: lines, queues, modes, agents, seats"
    )
    describe.add_argument("directory", nargs="?", default=DEFAULT_DIR)
    describe.set_defaults(func=run_describe)
    asterisk = subparsers.add_parser(
        "asterisk-config", aliases=["asterisk-conf"],
        help="write the Asterisk side (PJSIP seats, dialplan, ARI, HTTP, AMI, sorcery)",
        description="Generate pjsip.conf, extensions.conf, ari.conf, http.conf, "
        "manager.conf and sorcery.conf for the centre's seats and lines. No password is "
        "written unless --secrets-from-env is given (then the included secret files are "
        "written from HOTLINE_SEAT_PASSWORD_<ENDPOINT>, HOTLINE_ARI_PASSWORD and "
        "HOTLINE_AMI_SECRET with mode 0600). --push creates the seats over ARI's dynamic "
        "configuration (needs the memory wizard of sorcery.conf).",
    )
    asterisk.add_argument("directory", nargs="?", default=DEFAULT_DIR)
    asterisk.add_argument("--out", default=None,
                          help="output directory (default: <directory>/asterisk)")
    asterisk.add_argument("--app", default=DEFAULT_APP, help="ARI (Stasis) application name")
    asterisk.add_argument("--agi", default=f"{LOOPBACK}:4573", metavar="HOST:PORT",
                          help="the FastAGI server of the dialplan's AGI() (default: %(default)s)")
    asterisk.add_argument("--sip-bind", default=f"{LOOPBACK}:5060", metavar="HOST:PORT",
                          help="the PJSIP transport's address (default: %(default)s); "
                          "softphones must reach it")
    asterisk.add_argument("--secrets-from-env", action="store_true",
                          help="also write the secret files (mode 0600) from the environment")
    asterisk.add_argument("--push", action="store_true",
                          help="PUT every seat's aor, auth and endpoint through ARI "
                          "(HOTLINE_ARI_URL, HOTLINE_ARI_USER, HOTLINE_ARI_PASSWORD)")
    asterisk.set_defaults(func=run_asterisk_conf)


def _load(directory: str, err: TextIO) -> Centre | None:
    """The centre, or None after printing every problem (one per line) to `err`."""
    try:
        return load_centre(directory)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found in {directory}", file=err)
        return None


def run_check(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
              ) -> int:
    out = out or sys.stdout
    centre = _load(args.directory, err or sys.stderr)
    if centre is None:
        return 1
    # Warnings do not fail the check: the centre works, it falls short of a norm.
    for warning in centre.warnings:
        print(warning, file=out)
    out.write(describe(centre))
    count = len(centre.warnings)
    print("configuration OK" + (f" ({count} warning{'s' if count != 1 else ''})"
                                if count else ""), file=out)
    return 0


def run_describe(args: argparse.Namespace, out: TextIO | None = None,
                 err: TextIO | None = None) -> int:
    out = out or sys.stdout
    centre = _load(args.directory, err or sys.stderr)
    if centre is None:
        return 1
    for warning in centre.warnings:
        print(warning, file=out)
    out.write(describe(centre))
    return 0


def _options(args: argparse.Namespace) -> AsteriskOptions:
    host, _, port = str(args.agi).rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--agi {args.agi!r}: expected HOST:PORT")
    options = AsteriskOptions(app=args.app, agi_host=host, agi_port=int(port),
                              sip_bind=args.sip_bind)
    options.check()
    return options


def _write_secret(path: Path, text: str) -> None:
    """Create or replace `path` readable by its owner only (0600), whatever it was."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def run_asterisk_conf(args: argparse.Namespace, out: TextIO | None = None,
                      err: TextIO | None = None, environ: Mapping[str, str] | None = None,
                      transport: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    env = os.environ if environ is None else environ
    centre = _load(args.directory, err)
    if centre is None:
        return 1
    try:
        options = _options(args)
    except ValueError as exc:
        print(f"asterisk-config: {exc}", file=err)
        return 2
    secrets: dict[str, str] = {}
    passwords: dict[str, str] = {}
    try:
        if getattr(args, "secrets_from_env", False):
            secrets = secret_files(centre.config, env)
        if getattr(args, "push", False):
            passwords = seat_passwords(centre.config, env)
    except SecretsError as exc:
        for problem in exc.problems:
            print(f"asterisk-config: {problem}", file=err)
        print("asterisk-config: nothing written", file=err)
        return 1
    target = Path(args.out) if args.out else centre.directory / "asterisk"
    target.mkdir(parents=True, exist_ok=True)
    for name, text in generate_centre(centre, options).items():
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote {target / name}", file=out)
    for name, text in secrets.items():
        _write_secret(target / name, text)
        print(f"wrote {target / name} (secret, mode 0600)", file=out)
    if getattr(args, "push", False):
        return _push(dynamic_objects(centre.config, passwords), env, out, err, transport)
    return 0


def _push(objects: list[DynamicObject], env: Mapping[str, str], out: TextIO, err: TextIO,
          transport: Any) -> int:
    """PUT each object through ARI (fact 21: 200 with the object; 403 for an object from
    pjsip.conf or without the memory wizard)."""
    import asyncio

    from hotline.config.settings import Settings, SettingsError
    from hotline.telephony.ari.config import AriConfig
    from hotline.telephony.ari.rest import AriClient, AriError

    try:
        settings = Settings.from_environ(env)
    except SettingsError as exc:
        print(f"asterisk-config: {exc}", file=err)
        return 1
    password = settings.ari_password.get_secret_value() if settings.ari_password else ""
    config = AriConfig(base_url=settings.ari_url or f"http://{LOOPBACK}:8088/ari",
                       app=settings.ari_app, username=settings.ari_user or "hotline",
                       password=password)

    async def push() -> int:
        failed = 0
        async with AriClient(config, transport=transport) as ari:
            for obj in objects:
                try:
                    await ari.request("PUT", obj.path, json_body=obj.body())
                except AriError as exc:
                    failed += 1
                    hint = (" (defined in pjsip.conf, or sorcery.conf has no memory wizard)"
                            if exc.status == 403 else "")
                    print(f"push {obj.kind} {obj.object_id}: {exc}{hint}", file=err)
                    continue
                print(f"pushed {obj.kind} {obj.object_id}", file=out)
        return failed

    failed = asyncio.run(push())
    if failed:
        print(f"asterisk-config: {failed} of {len(objects)} object(s) not pushed", file=err)
        return 1
    return 0


def _reach_in(centre: Centre, number: str, mode: str) -> str:
    line = centre.line_in(number, mode)
    cfg = centre.config
    language = line.language or cfg.centre.default_language
    speak = catalogue_speaker(centre.prompts, language, cfg.centre.default_language,
                              centre.directory)
    longest = time_to_queue(centre.flows, line.flow, mode, speak)
    if longest is None:
        return f"{mode}: no queue"
    silent = time_to_queue(centre.flows, line.flow, mode, speak, silent=True)
    quiet = f"{silent.seconds:.0f} s" if silent is not None else "never"
    return f"{mode}: {longest.seconds:.0f} s (to {longest.queue}), silent {quiet}"


def describe(centre: Centre) -> str:
    """A short human summary of a loaded centre."""
    cfg = centre.config
    rows: list[str] = [f"{cfg.centre.name} ({cfg.centre.timezone}, "
                       f"languages: {', '.join(cfg.languages)})"]
    rows.append(f"lines ({len(cfg.lines)}):")
    for number, line in cfg.lines.items():
        hours = line.schedule or "24/7"
        extra = "" if line.enabled else ", disabled"
        by_mode = [f"{m}: {o.flow}" for m, mode in cfg.modes.items()
                   for n, o in mode.lines.items() if n == number and o.flow]
        alt = f" [{'; '.join(by_mode)}]" if by_mode else ""
        rows.append(f"  {number:<10} -> flow {line.flow}{alt}  "
                    f"{line.name or ''} ({line.language or cfg.centre.default_language}, "
                    f"{hours}{extra})")
    rows.append("time to a person (longest from answer to a queue, from prompt lengths and "
                "timeouts; a caller who presses nothing):")
    for number in cfg.lines:
        rows.append(f"  {number:<10} " + "; ".join(_reach_in(centre, number, mode)
                                                    for mode in cfg.modes))
    rows.append(f"flows ({len(centre.flows)}): {', '.join(sorted(centre.flows))}; "
                f"prompts: {len(centre.prompts)}")
    rows.append(f"queues ({len(cfg.queues)}):")
    for name, queue in cfg.queues.items():
        overflow = f", overflow -> {queue.overflow.to}" if queue.overflow else ""
        rows.append(f"  {name:<12} skills {', '.join(queue.skills) or '-'} "
                    f"(level >= {queue.min_level}), priority {queue.priority}{overflow}")
    rows.append(f"modes ({len(cfg.modes)}):")
    for name, mode in cfg.modes.items():
        changes = [f"{len(mode.queues)} queue override(s)", f"{len(mode.lines)} line override(s)"]
        if mode.roster:
            changes.append(f"roster {mode.roster}")
        rows.append(f"  {name:<12} {mode.description}: {', '.join(changes)}")
    teams = Counter(agent.team for agent in cfg.agents.values())
    rows.append(f"agents ({len(cfg.agents)}): "
                + ", ".join(f"{team} {n}" for team, n in sorted(teams.items())))
    guests = sum(1 for seat in cfg.seats.values() if seat.guest)
    rows.append(f"seats ({len(cfg.seats)}, {guests} guest); shifts: {', '.join(cfg.shifts)}; "
                f"rosters: {', '.join(cfg.rosters)}")
    return "\n".join(rows) + "\n"
