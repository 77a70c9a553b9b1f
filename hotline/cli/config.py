"""`hotline check [DIR]` and `hotline describe [DIR]`: validate and summarise a centre."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from hotline.config.asterisk_conf import DEFAULT_APP, extensions_conf, pjsip_conf
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
        "asterisk-conf",
        help="write pjsip.conf and extensions.conf for the centre's seats and lines",
    )
    asterisk.add_argument("directory", nargs="?", default=DEFAULT_DIR)
    asterisk.add_argument("--out", default=None,
                          help="output directory (default: <directory>/asterisk)")
    asterisk.add_argument("--app", default=DEFAULT_APP, help="ARI (Stasis) application name")
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


def run_asterisk_conf(args: argparse.Namespace, out: TextIO | None = None,
                      err: TextIO | None = None) -> int:
    out = out or sys.stdout
    centre = _load(args.directory, err or sys.stderr)
    if centre is None:
        return 1
    target = Path(args.out) if args.out else centre.directory / "asterisk"
    target.mkdir(parents=True, exist_ok=True)
    for name, text in (("pjsip.conf", pjsip_conf(centre.config)),
                       ("extensions.conf", extensions_conf(centre.config, args.app))):
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote {target / name}", file=out)
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
