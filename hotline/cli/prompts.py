"""`hotline prompts build [DIR] --out OUTDIR`: the prompt catalogue as sound files.

    hotline prompts build config --out /var/lib/asterisk/sounds/hotline
    hotline prompts build config --check        # what would be done; renders nothing

Each prompt text becomes `<OUTDIR>/<language>/<id>.wav` (8 kHz, 16-bit, mono), played
as the sound `hotline/<language>/<id>` (`hotline.ivr.render`): the catalogue's recording
when it names one that exists (converted by sox), else offline text-to-speech
(espeak-ng, Mandarin voice `cmn`, English `en`). Texts with placeholders are listed as
needing run-time speech. A prompt a flow plays that has neither a text nor a recording
in the language the call is in is listed, and the exit code is 1.

Only `prompts.yaml`, `flows/` and the lines and languages of `centre.yaml` are read, so
a prompt author can build sounds while the rest of the centre is still in progress.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import yaml

from hotline.ivr.files import FlowFileError, load_ivr_config
from hotline.ivr.model import Flow
from hotline.ivr.render import RenderPlan, plan_render, render, sound_name
from hotline.ivr.validate import node_prompts

DEFAULT_DIR = "config"


def register(subparsers: Any) -> None:
    prompts = subparsers.add_parser("prompts", help="the prompt catalogue's sound files")
    sub = prompts.add_subparsers(dest="prompts_command", required=True, metavar="ACTION")
    build = sub.add_parser(
        "build", help="render every prompt to an 8 kHz WAV file Asterisk plays",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("directory", nargs="?", default=DEFAULT_DIR,
                       help=f"the centre's directory (default: {DEFAULT_DIR})")
    build.add_argument("--out", default=None,
                       help="output directory (default: <directory>/sounds-built)")
    build.add_argument("--check", action="store_true",
                       help="list what would be rendered and what is missing; render nothing")
    build.add_argument("--language", action="append", default=None,
                       help="render only this language (repeatable; default: the centre's)")
    build.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                       help="tool pipelines run at once (default: %(default)s)")
    build.set_defaults(func=run_build)


def _centre_yaml(directory: Path) -> Mapping[str, Any]:
    path = directory / "centre.yaml"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return data if isinstance(data, Mapping) else {}


def required_prompts(flows: Mapping[str, Flow], centre: Mapping[str, Any]
                     ) -> Iterator[tuple[str, str]]:
    """(prompt id, language) pairs a call can play: each flow's prompts in the languages
    of the lines (and modes) that start it. (Queue announcements the catalogue lacks
    keep the ACD's built-in text, so they are not required here.)"""
    info = centre.get("centre") or {}
    default = str(info.get("default_language") or "zh")
    by_flow: dict[str, set[str]] = {}
    lines = centre.get("lines") or {}
    modes = centre.get("modes") or {}
    for number, line in lines.items():
        if not isinstance(line, Mapping):
            continue
        language = str(line.get("language") or default)
        starts = {line.get("flow")}
        for mode in modes.values():
            override = ((mode or {}).get("lines") or {}).get(number) or {}
            starts.add(override.get("flow"))
        for flow in starts:
            if isinstance(flow, str):
                by_flow.setdefault(flow, set()).add(language)
    for flow in flows.values():
        languages = {flow.language} if flow.language else (by_flow.get(flow.name) or {default})
        for name, node in flow.nodes.items():
            node_language = getattr(node, "language", None)
            for _, prompt_id in node_prompts(name, node):
                for language in ({node_language} if node_language else languages):
                    yield prompt_id, language


def _report(plan: RenderPlan, out: TextIO, err: TextIO) -> None:
    for warning in plan.warnings:
        print(f"warning: {warning}", file=err)
    for prompt_id, language, names in plan.runtime:
        print(f"run-time speech: {prompt_id} ({language}) has placeholders "
              f"{', '.join('{' + n + '}' for n in names)}; not rendered", file=out)
    for prompt_id, why in plan.refused:
        print(f"error: {prompt_id}: {why}", file=err)
    for missing in plan.missing:
        print(f"missing: {missing.prompt_id} ({missing.language}): {missing.why}", file=err)


def run_build(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
              ) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    directory = Path(args.directory)
    try:
        flows, catalogue = load_ivr_config(directory)
        centre = _centre_yaml(directory)
    except (FlowFileError, yaml.YAMLError, OSError) as exc:
        print(f"prompts build: {exc}", file=err)
        return 1
    languages = args.language or centre.get("languages") or None
    plan = plan_render(catalogue, base=directory, languages=languages,
                       required=required_prompts(flows, centre))
    _report(plan, out, err)
    target = Path(args.out) if args.out else directory / "sounds-built"
    if args.check:
        for job in plan.jobs:
            source = "recording" if job.recording else "text-to-speech"
            print(f"would render {target / job.relative} ({source})", file=out)
    else:
        failed = 0
        for result in render(plan, target, jobs=max(1, args.jobs)):
            if result.ok:
                name = sound_name(result.job.prompt_id, result.job.language)
                print(f"rendered {result.path} (sound {name})", file=out)
            else:
                failed += 1
                print(f"error: {result.job.prompt_id} ({result.job.language}): {result.error}",
                      file=err)
        if failed:
            print(f"prompts build: {failed} prompt(s) failed to render", file=err)
            return 1
    if not plan.ok:
        count = len(plan.missing) + len(plan.refused)
        print(f"prompts build: {count} prompt(s) cannot be played", file=err)
        return 1
    return 0
