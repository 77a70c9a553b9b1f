"""The `hotline` command: each part of the product registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module has `register(subparsers)`; a subcommand's handler is stored as `func`
# and returns the process exit code.
_COMMAND_MODULES = (
    "hotline.cli.config",  # check, describe, asterisk-config (asterisk-conf)
    "hotline.cli.flows",  # flows show, call
    "hotline.cli.staffing",  # simulate, staffing
    "hotline.cli.speech",  # dispatch train/eval, satisfaction eval
    "hotline.cli.cdr",  # cdr
    "hotline.cli.users",  # users add
    "hotline.cli.prompts",  # prompts build
    "hotline.cli.serve",  # serve
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not an absent part
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
