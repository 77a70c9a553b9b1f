"""Reading flow files and the prompt catalogue from a config directory.

The centre's loader (`hotline.config.loader.load_centre`) is the full way in: it reads
`centre.yaml` too, checks everything and reports file:line:column. This module is the
small direct way for the IVR's own tools and tests: `config/flows/*.yaml` and
`config/prompts.yaml` only, with errors naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hotline.ivr.model import Flow
from hotline.ivr.prompts import PromptCatalogue


class FlowFileError(ValueError):
    """A flow or prompt file cannot be read; the message names the file and the field."""


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise FlowFileError(f"{path}: not valid YAML: {exc}") from None


def _explain(path: Path, exc: ValidationError) -> FlowFileError:
    lines = [f"{path}: {len(exc.errors())} problem(s):"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top)"
        lines.append(f"  {where}: {error['msg']}")
    return FlowFileError("\n".join(lines))


def load_flow(path: Path) -> Flow:
    data = _read_yaml(path)
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, exc) from None


def load_prompts(path: Path) -> PromptCatalogue:
    data = _read_yaml(path)
    try:
        return PromptCatalogue.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise _explain(path, exc) from None


def load_flows(directory: Path) -> dict[str, Flow]:
    """Every `*.yaml` flow of `directory`, by flow name (which must match the file name)."""
    if not directory.is_dir():
        raise FlowFileError(f"{directory}: no such directory")
    flows: dict[str, Flow] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FlowFileError(f"{directory}: no flow files (*.yaml)")
    for file in files:
        flow = load_flow(file)
        if flow.name != file.stem:
            raise FlowFileError(f"{file}: name: flow is named {flow.name!r} but its file is "
                                f"{file.name}")
        flows[flow.name] = flow
    return flows


def load_ivr_config(config_dir: Path) -> tuple[Mapping[str, Flow], PromptCatalogue]:
    """`config_dir/flows/*.yaml` and `config_dir/prompts.yaml`."""
    return load_flows(config_dir / "flows"), load_prompts(config_dir / "prompts.yaml")


SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config"
"""The shipped sample centre (when running from a source checkout)."""
