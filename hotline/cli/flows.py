"""`hotline flows show` and `hotline call`: look at a flow, or try a call through it.

    hotline flows show main --format mermaid
    hotline call --line 12345 --keys 2 --say "楼下饭店油烟扰民，我要投诉"
    hotline call --line 12345-8 --at 2020-02-10T20:00 --keys 1      # after hours
    hotline call --line 12345 --mode emergency --say 疫情

The centre is read with the config loader when the directory has a centre.yaml (lines,
schedules, calendars, caller lists, modes all apply); otherwise only `flows/` and
`prompts.yaml` are read and a simple environment is used (office hours Mon-Fri).
Speech is classified with the keyword fakes of `hotline.testing` (no model needed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from hotline.config.calendar import CentreEnvironment
from hotline.config.loader import load_centre
from hotline.ivr.compiled import FlowError
from hotline.ivr.diagram import as_dot, as_mermaid, as_text
from hotline.ivr.engine import FlowEngine
from hotline.ivr.environment import Environment, StaticEnvironment
from hotline.ivr.files import FlowFileError, load_ivr_config
from hotline.ivr.model import Flow
from hotline.ivr.prompts import PromptCatalogue
from hotline.ivr.validate import did_you_mean
from hotline.testing import (
    DEFAULT_AT,
    Press,
    Say,
    ScriptError,
    parse_at,
    run_flow,
    sample_classifier,
)
from hotline.testing.fakes import satisfaction_classifier
from hotline.vocabulary.problems import ConfigError

DEFAULT_CONFIG = "config"


def register(subparsers: Any) -> None:
    flows = subparsers.add_parser("flows", help="look at IVR flows")
    flows_sub = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    show = flows_sub.add_parser("show", help="print a flow as a tree or a diagram")
    show.add_argument("name", help="flow name (its file is flows/NAME.yaml)")
    show.add_argument("--config", default=DEFAULT_CONFIG, help="centre directory")
    show.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    show.set_defaults(func=run_show)

    call = subparsers.add_parser(
        "call", help="run a scripted call through the IVR and print what the caller hears",
        description="Answers are used in order: each --keys value answers one question "
        "(several answers may be given at once separated by spaces or commas), each --say "
        "is one utterance. When they run out the caller stays silent.",
    )
    call.add_argument("--line", default="12345", help="dialled number (default 12345)")
    call.add_argument("--flow", help="start in this flow instead of the line's")
    call.add_argument("--keys", action="append", dest="script", type=_keys, default=[],
                      metavar="KEYS", help='keys for the next question(s), e.g. 1 or "3 20200101#"')
    call.add_argument("--say", action="append", dest="script", type=_say, metavar="TEXT",
                      help="an utterance for the next question")
    call.add_argument("--confidence", type=_confidence, default=0.9,
                      help="recogniser confidence of every --say (default 0.9)")
    call.add_argument("--mode", help="centre mode, e.g. emergency")
    call.add_argument("--at", type=_at,
                      help="call time, ISO format (default: a Monday 10:00 CST)")
    call.add_argument("--caller", default="13912345678", help="caller number")
    call.add_argument("--hang-up-after", type=_count, metavar="N",
                      help="caller hangs up at this event (0 = the first)")
    call.add_argument("--transfer-fails", action="store_true")
    call.add_argument("--config", default=DEFAULT_CONFIG, help="centre directory")
    call.set_defaults(func=run_call)


@dataclass(frozen=True)
class _Answers:
    kind: str  # "keys" or "say"
    values: tuple[str, ...]


def _keys(value: str) -> _Answers:
    parts = tuple(p for p in value.replace(",", " ").split() if p)
    bad = [p for p in parts if not all(c in "0123456789*#" for c in p)]
    if not parts or bad:
        raise argparse.ArgumentTypeError(f"{value!r} is not keys (0-9, * and #)")
    return _Answers("keys", parts)


def _confidence(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0.0 <= number <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{value!r} is not a confidence from 0 to 1, e.g. 0.9")
    return number


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a count of events (0 or more)")
    return number


def _at(value: str) -> float:
    try:
        return parse_at(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time in ISO format, e.g. 2020-02-10T20:00 (China time) or "
            "2020-02-10T20:00+08:00") from None


def _say(value: str) -> _Answers:
    if not value.strip():
        raise argparse.ArgumentTypeError("--say needs some words")
    return _Answers("say", (value,))


@dataclass(frozen=True)
class LoadedIvr:
    """What the IVR tools need from a config directory."""

    flows: Mapping[str, Flow]
    prompts: PromptCatalogue
    line_flows: Mapping[str, str]
    line_languages: Mapping[str, str]
    fallback_language: str | None
    centre: Any  # hotline.config.loader.Centre when centre.yaml was read, else None

    def environment(self, mode: str | None) -> Environment:
        if self.centre is not None:

            return CentreEnvironment(self.centre.config, mode or "normal")
        return StaticEnvironment(mode=mode or "normal")


def load_ivr(directory: str | Path, mode: str | None = None) -> LoadedIvr:
    """Read a centre directory with the config loader if possible, else flows + prompts."""
    path = Path(directory)
    if not path.exists():
        raise FlowFileError(f"{path}: no such directory (give the centre's directory with "
                            "--config)")
    if (path / "centre.yaml").is_file() or path.suffix in (".yaml", ".yml"):

        centre = load_centre(path)
        info = centre.info
        lines = {number: centre.line_in(number, mode or "normal") for number in centre.lines}
        return LoadedIvr(
            centre.flows, centre.prompts,
            {number: line.flow for number, line in lines.items()},
            {number: line.language or info.default_language for number, line in lines.items()},
            info.default_language if info.prompt_fallback else None,
            centre,
        )
    flows, prompts = load_ivr_config(path)
    return LoadedIvr(flows, prompts, {name: name for name in flows}, {}, None, None)


def run_show(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        loaded = load_ivr(args.config)
    except (ConfigError, FlowFileError) as exc:
        print(exc, file=err)
        return 2
    flow = loaded.flows.get(args.name)
    if flow is None:

        print(f"no flow named {args.name!r}{did_you_mean(args.name, loaded.flows)}", file=err)
        return 1
    render = {"text": as_text, "mermaid": as_mermaid, "dot": as_dot}[args.format]
    out.write(render(flow))
    return 0


def run_call(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:

    out, err = out or sys.stdout, err or sys.stderr
    try:
        loaded = load_ivr(args.config, args.mode)
        unknown_mode = _unknown_mode(loaded, args.mode)
        if unknown_mode:
            print(f"hotline call: error: argument --mode: {unknown_mode}", file=err)
            return 2
        env = loaded.environment(args.mode)
    except (ConfigError, FlowFileError) as exc:
        print(exc, file=err)
        return 2
    except KeyError as exc:
        print(f"unknown name: {exc}", file=err)
        return 2
    script: list[Press | Say] = []
    for answers in args.script:
        for value in answers.values:
            script.append(Press(value) if answers.kind == "keys" else Say(value, args.confidence))
    flow = args.flow
    if flow is None and args.line not in loaded.line_flows:

        print(f"no line {args.line!r}{did_you_mean(args.line, loaded.line_flows)}; "
              f"lines: {', '.join(sorted(loaded.line_flows))} (or start in a flow with "
              "--flow NAME)", file=err)
        return 1
    try:
        engine = FlowEngine(loaded.flows, loaded.prompts, classifier=sample_classifier(),
                            satisfaction=satisfaction_classifier(),
                            fallback_language=loaded.fallback_language,
                            line_flows=loaded.line_flows)
        run = run_flow(engine, script, flow=flow, line=args.line, caller=args.caller,
                       language=loaded.line_languages.get(args.line, "zh"), env=env,
                       at=args.at if args.at is not None else DEFAULT_AT,
                       hang_up_after=args.hang_up_after, transfer_fails=args.transfer_fails)
    except (FlowError, ScriptError, ValueError) as exc:
        print(f"error: {exc}", file=err)
        return 1
    out.write(run.text() + "\n")
    if run.unused_script:
        print(f"({run.unused_script} answer(s) not used: the call ended first)", file=out)
    return 0


def known_modes(loaded: LoadedIvr) -> list[str]:
    """The centre's modes, or (flows only) `normal` and every mode a flow mentions."""
    if loaded.centre is not None:
        return sorted(loaded.centre.modes)
    modes = {"normal"}
    for flow in loaded.flows.values():
        for node in flow.nodes.values():
            modes.update(getattr(node, "modes", {}))
            for case in getattr(node, "cases", ()):
                modes.update(case.when.mode or ())
    return sorted(modes)


def _unknown_mode(loaded: LoadedIvr, mode: str | None) -> str | None:
    modes = known_modes(loaded)
    if mode is None or mode in modes:
        return None
    return f"unknown mode {mode!r}{did_you_mean(mode, modes)}; modes: {', '.join(modes)}"
