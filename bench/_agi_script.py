"""A classic process-per-call AGI script (how Asterisk runs `AGI(script)`): reads the
environment on stdin, writes commands on stdout, reads each reply. Used by bench/agi.py.
Only the standard library, as a typical AGI script would start."""

from __future__ import annotations

import sys

COMMANDS = [
    b"ANSWER\n",
    b"GET VARIABLE HOTLINE_LINE\n",
    b"GET VARIABLE HOTLINE_MODE\n",
    b'STREAM FILE welcome ""\n',
    b"GET DATA menu 5000 1\n",
    b'STREAM FILE thanks ""\n',
]


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while stdin.readline() not in (b"\n", b""):
        pass
    for command in COMMANDS:
        stdout.write(command)
        stdout.flush()
        reply = stdin.readline()
        if not reply.startswith(b"200"):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
