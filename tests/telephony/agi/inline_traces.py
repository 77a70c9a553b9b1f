"""Recorded shapes from ../shared/asterisk/traces/agi written inline, so the codec and
server tests run without the shared directory (same `*.log` format)."""

from __future__ import annotations

ENV_LINES = [
    b"agi_network: yes\n",
    b"agi_network_script: hotline?lang=en\n",
    b"agi_request: agi://127.0.0.1:4573/hotline?lang=en\n",
    b"agi_channel: PJSIP/pjcaller-00000003\n",
    b"agi_language: en\n",
    b"agi_type: PJSIP\n",
    b"agi_uniqueid: 1795636067.47\n",
    b"agi_version: 20.20.1\n",
    b"agi_callerid: pjcaller\n",
    b"agi_calleridname: Citizen\n",
    b"agi_callingpres: 0\n",
    b"agi_callingani2: 0\n",
    b"agi_callington: 0\n",
    b"agi_callingtns: 0\n",
    b"agi_dnid: 400\n",
    b"agi_rdnis: unknown\n",
    b"agi_context: from-sip\n",
    b"agi_extension: 400\n",
    b"agi_priority: 1\n",
    b"agi_enhanced: 0.0\n",
    b"agi_accountcode: \n",
    b"agi_threadid: 139654515566272\n",
    b"agi_arg_1: first arg\n",
    b"agi_arg_2: second-arg\n",
    b"\n",
]
ENV = b"".join(ENV_LINES)

# (command, Asterisk's bytes until the next command), as in hotline-1 / hangup-test-1.
HOTLINE = [
    (b"ANSWER\n", b"200 result=0\n"),
    (b'VERBOSE "hotline FastAGI started" 1\n', b"200 result=1\n"),
    (b"CHANNEL STATUS\n", b"200 result=6\n"),
    (b'SET VARIABLE HOTLINE_RESULT "started ok"\n', b"200 result=1\n"),
    (b"GET VARIABLE HOTLINE_RESULT\n", b"200 result=1 (started ok)\n"),
    (b"GET VARIABLE DOES_NOT_EXIST\n", b"200 result=0\n"),
    (
        b'GET FULL VARIABLE "${CHANNEL}|${CALLERID(num)}|${LANGUAGE()}"\n',
        b"200 result=1 (Local/agi@caller-00000000;1||)\n",
    ),
    (b'STREAM FILE hello-world ""\n', b"200 result=0 endpos=11234\n"),
    (b'STREAM FILE tt-monkeys "12#"\n', b"200 result=50 endpos=9760\n"),
    (b'STREAM FILE tt-monkeys "12#" 8000\n', b"200 result=49 endpos=22880\n"),
    (b'STREAM FILE no-such-prompt ""\n', b"200 result=-1 endpos=0\n"),
    (b"GET DATA beep 5000 4\n", b"200 result=1234\n"),
    (b"GET DATA beep 5000 10\n", b"200 result=56\n"),
    (b"GET DATA beep 1500 4\n", b"200 result= (timeout)\n"),
    (b"WAIT FOR DIGIT 5000\n", b"200 result=55\n"),
    (b"WAIT FOR DIGIT 1000\n", b"200 result=0\n"),
    (b'SAY DIGITS 123 ""\n', b"200 result=0\n"),
    (b'SAY NUMBER 42 "9"\n', b"200 result=57\n"),
    (
        b'RECORD FILE /var/spool/asterisk/recording/agi-rec-hash wav "#" 15000 0 BEEP s=5\n',
        b"200 result=35 (dtmf) endpos=20866\n",
    ),
    (
        b'RECORD FILE /var/spool/asterisk/recording/agi-rec-silence wav "#" 20000 0 s=2\n',
        b"200 result=0 (timeout) endpos=11212\n",
    ),
    (b"EXEC Playback beep\n", b"200 result=0\n"),
    (b"EXEC NoSuchApplication foo\n", b"200 result=-2\n"),
    (b"FOO BAR BAZ\n", b"510 Invalid or unknown command\n"),
    (
        b"GET DATA\n",
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
        b"Returns the digits received from the channel at the other end.\n"
        b"520 End of proper usage.\n",
    ),
    (b"HANGUP\n", b"200 result=1\n"),
    (b"NOOP after-hangup\n", b"HANGUP\n200 result=0\n"),
    (b"GET VARIABLE HOTLINE_RESULT\n", b"200 result=1 (done)\n"),
    (
        b'STREAM FILE beep ""\n',
        b"511 Command Not Permitted on a dead channel or intercept routine\n",
    ),
]


def as_log(env: bytes, exchanges: list[tuple[bytes, bytes]]) -> str:
    """The `*.log` text of a session, for `fake_asterisk.parse_trace`."""
    lines = [f"   0.000 AST->APP {line!r}" for line in env.splitlines(keepends=True)]
    lines.append("   0.000 NOTE inline")
    for command, reply in exchanges:
        lines.append(f"   0.001 APP->AST {command!r}")
        lines += [f"   0.002 AST->APP {line!r}" for line in reply.splitlines(keepends=True)]
    return "\n".join(lines) + "\n"
