"""`hotline asterisk-config`: the Asterisk files parse, name every seat and line, keep
secrets out unless asked, bind to 127.0.0.1, match the shipped sample; `--push` sends
exactly the dynamic-configuration requests Asterisk 20 answered in the traces."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import httpx
import pytest

from config.conftest import SAMPLE
from config.editing import CentreCopy
from hotline.cli import build_parser, main
from hotline.cli.config import run_asterisk_conf
from hotline.config.asterisk_conf import (
    SECRET_FILES,
    AsteriskOptions,
    generate_centre,
    pjsip_seats,
)
from hotline.config.loader import Centre

Section = tuple[str, dict[str, list[str]]]


def parse_conf(text: str) -> list[Section]:
    """Asterisk's config syntax, as much as the generated files use: `[name]`, `key =
    value` / `key => value`, `;` comments, `#include`/`#tryinclude`. Anything else fails."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        if line.startswith("#"):
            assert re.fullmatch(r"#(try)?include [\w.-]+", line), f"{number}: {raw!r}"
            continue
        header = re.fullmatch(r"\[([^\]\s]+)\]", line)
        if header:
            sections.append((header.group(1), {}))
            continue
        match = re.fullmatch(r"([\w-]+)\s*=>?\s*(.*)", line)
        assert match and sections, f"line {number} is not config syntax: {raw!r}"
        sections[-1][1].setdefault(match.group(1), []).append(match.group(2))
    return sections


def objects(text: str, kind: str) -> dict[str, dict[str, list[str]]]:
    return {name: body for name, body in parse_conf(text) if body.get("type") == [kind]}


DIALPLAN_APP = re.compile(r"(?:\d+|n)(?:\([a-z]+\))?,([A-Za-z]+)\((.*)\)")


def dialplan(text: str) -> dict[str, list[tuple[str, str, list[str]]]]:
    """context -> [(extension, application, arguments)]; every step must be one
    application call with balanced parentheses."""
    contexts: dict[str, list[tuple[str, str, list[str]]]] = {}
    steps: list[tuple[str, str, list[str]]] = []
    exten = ""
    for raw in text.splitlines():
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]\s]+)\]", line)
        if header:
            steps = contexts.setdefault(header.group(1), [])
            continue
        kind, sep, rest = line.partition(" => ")
        assert sep and kind in ("exten", "same"), f"not a dialplan line: {raw!r}"
        if kind == "exten":
            exten, _, rest = rest.partition(",")
        match = DIALPLAN_APP.fullmatch(rest)
        assert match, f"not a dialplan step: {raw!r}"
        args = match.group(2)
        assert args.count("(") == args.count(")"), raw
        steps.append((exten, match.group(1), args.split(",")))
    return contexts


def test_shipped_sample_does_not_drift(sample: Centre) -> None:
    # config/asterisk/ is generated: regenerate with `hotline asterisk-config config`.
    for name, text in generate_centre(sample).items():
        assert (SAMPLE / "asterisk" / name).read_text(encoding="utf-8") == text, name
    for name in SECRET_FILES:
        assert not (SAMPLE / "asterisk" / name).exists()


def test_every_seat_and_line_present_and_parsing(sample: Centre) -> None:
    files = generate_centre(sample)
    for text in files.values():
        parse_conf(text)
    seats, skipped = pjsip_seats(sample.config)
    assert not skipped and len(seats) == len(sample.config.seats)
    endpoints = objects(files["pjsip.conf"], "endpoint")
    aors = objects(files["pjsip.conf"], "aor")
    for seat in seats:
        assert endpoints[seat.name]["auth"] == [f"{seat.name}-auth"]
        assert endpoints[seat.name]["aors"] == [seat.name]
        assert aors[seat.name]["max_contacts"] == ["1"]
    plan = dialplan(files["extensions.conf"])
    enabled = [n for n, line in sample.config.lines.items() if line.enabled]
    stasis = {args[1] for _, app, args in plan["hotline-inbound"] if app == "Stasis"}
    assert stasis == set(enabled)
    agi = [args for _, app, args in plan["hotline-inbound-agi"] if app == "AGI"]
    assert agi == [["agi://127.0.0.1:4573/hotline", n] for n in enabled]
    after = plan["hotline-after-agi"]
    assert ("s", "Stasis", ["hotline", "handoff", "${HOTLINE_CALL_ID}"]) in after
    assert [e for e, app, _ in plan["hotline-transfer"] if app == "Dial"] == ["110"]
    assert plan["hotline-seats"][0][1:] == ("Stasis", ["hotline", "seat"])
    sorcery = dict(parse_conf(files["sorcery.conf"]))["res_pjsip"]
    assert sorcery["endpoint"] == ["config,pjsip.conf,criteria=type=endpoint", "memory"]


def test_loopback_everywhere_and_no_secret(sample: Centre) -> None:
    files = generate_centre(sample)
    text = "\n".join(files.values())
    assert "localhost" not in text
    sections = {n: b for n, b in parse_conf(files["http.conf"])}
    assert sections["general"]["bindaddr"] == ["127.0.0.1"]
    manager = dict(parse_conf(files["manager.conf"]))
    assert manager["general"]["bindaddr"] == ["127.0.0.1"]
    assert manager["hotline"]["permit"] == ["127.0.0.1/255.255.255.255"]
    assert manager["hotline"]["read"] and manager["hotline"]["write"]
    transport = objects(files["pjsip.conf"], "transport")
    assert transport["hotline-udp"]["bind"] == ["127.0.0.1:5060"]
    for name, body in (s for t in files.values() for s in parse_conf(t)):
        assert "password" not in body and "secret" not in body, name


SECRETS = {"HOTLINE_SEAT_PASSWORD_8001": "s3cret-8001", "HOTLINE_SEAT_PASSWORD_8002": "p8002",
           "HOTLINE_ARI_PASSWORD": "ari-pw", "HOTLINE_AMI_SECRET": "ami-pw"}


def test_secrets_from_env_are_written_0600_and_nowhere_else(
    centre: CentreCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["asterisk-config", "c", "--out", "ast",
                                      "--secrets-from-env"])
    assert run_asterisk_conf(args, environ=SECRETS) == 0
    auth = Path("ast/pjsip_auth.conf")
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    sections = objects(auth.read_text(encoding="utf-8"), "auth")
    assert sections["8001-auth"]["password"] == ["s3cret-8001"]
    assert sections["8002-auth"]["username"] == ["8002"]
    assert dict(parse_conf("[u]\n" + Path("ast/ari_password.conf").read_text()))["u"][
        "password"] == ["ari-pw"]
    assert stat.S_IMODE(Path("ast/manager_secret.conf").stat().st_mode) == 0o600
    public = "".join(Path("ast", n).read_text() for n in os.listdir("ast")
                     if n not in SECRET_FILES)
    assert not any(v in public for v in SECRETS.values())
    assert "(secret, mode 0600)" in capsys.readouterr().out


def test_missing_or_unsafe_secret_names_the_variables_and_writes_nothing(
    centre: CentreCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    env = dict(SECRETS, HOTLINE_SEAT_PASSWORD_8002="x;y\n[evil]")
    del env["HOTLINE_AMI_SECRET"]
    args = build_parser().parse_args(["asterisk-config", "c", "--out", "ast",
                                      "--secrets-from-env"])
    assert run_asterisk_conf(args, environ=env) == 1
    err = capsys.readouterr().err
    assert "HOTLINE_SEAT_PASSWORD_8002 holds a control character or ';'" in err
    assert "HOTLINE_AMI_SECRET is not set" in err
    assert not Path("ast").exists()


def test_configured_text_cannot_inject_dialplan_or_config(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "name: 12345 hotline",
                'name: "x),Hangup()\\n[evil]\\nexten => _X.,1,System(${SHELL(id)});c"')
    centre.edit("centre.yaml", "s2: PJSIP/8002", 's2: {endpoint: PJSIP/8002, description: '
                '"a\\n[evil]\\ntype=endpoint"}')
    assert main(["asterisk-config", "c", "--out", "ast"]) == 0
    text = Path("ast/extensions.conf").read_text(encoding="utf-8")
    plan = dialplan(text)
    assert "evil" not in {name for name, _ in parse_conf(text)}
    assert not any(app == "System" for steps in plan.values() for _, app, _ in steps)
    noop = plan["hotline-inbound"][0]
    assert noop[1] == "NoOp" and "$" not in noop[2][0] and len(noop[2]) == 1
    pjsip = Path("ast/pjsip.conf").read_text(encoding="utf-8")
    assert "evil" not in {name for name, _ in parse_conf(pjsip)}


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="application name"):
        AsteriskOptions(app="hot line,x").check()
    with pytest.raises(ValueError, match="not an address"):
        AsteriskOptions(sip_bind="127.0.0.1:5060\n[x]").check()


def test_alias_and_agi_address(centre: CentreCopy) -> None:
    assert main(["asterisk-conf", "c", "--out", "ast", "--agi", "127.0.0.1:4600",
                 "--app", "hl"]) == 0
    text = Path("ast/extensions.conf").read_text(encoding="utf-8")
    assert " same => n,AGI(agi://127.0.0.1:4600/hotline,12345)" in text
    assert " same => n(handoff),Stasis(hl,handoff,${HOTLINE_CALL_ID})" in text


def test_push_puts_aor_auth_endpoint_per_seat(
    centre: CentreCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, str, object, str]] = []

    def asterisk(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.method, request.url.path, body,
                     request.headers.get("authorization", "")))
        if request.url.path.endswith("/endpoint/8002"):
            return httpx.Response(403, json={
                "message": "Cannot update sorcery objects of type 'endpoint'"})
        fields = [{"attribute": f["attribute"], "value": f["value"]} for f in body["fields"]]
        return httpx.Response(200, json=fields)

    env = dict(SECRETS, HOTLINE_ARI_URL="http://127.0.0.1:8088/ari", HOTLINE_ARI_USER="hotline")
    args = build_parser().parse_args(["asterisk-config", "c", "--out", "ast", "--push"])
    code = run_asterisk_conf(args, environ=env, transport=httpx.MockTransport(asterisk))
    assert code == 1  # one object refused
    paths = [(m, p) for m, p, _, _ in seen]
    base = "/ari/asterisk/config/dynamic/res_pjsip"
    assert paths == [("PUT", f"{base}/aor/8001"), ("PUT", f"{base}/auth/8001-auth"),
                     ("PUT", f"{base}/endpoint/8001"), ("PUT", f"{base}/aor/8002"),
                     ("PUT", f"{base}/auth/8002-auth"), ("PUT", f"{base}/endpoint/8002")]
    assert seen[0][2] == {"fields": [{"attribute": "max_contacts", "value": "1"},
                                     {"attribute": "remove_existing", "value": "yes"}]}
    assert seen[1][2] == {"fields": [{"attribute": "auth_type", "value": "userpass"},
                                     {"attribute": "username", "value": "8001"},
                                     {"attribute": "password", "value": "s3cret-8001"}]}
    assert {"attribute": "aors", "value": "8001"} in seen[2][2]["fields"]  # type: ignore[index]
    assert all(auth.startswith("Basic ") for *_, auth in seen)
    out, err = capsys.readouterr()
    assert "pushed endpoint 8001" in out and "push endpoint 8002: ARI 403" in err
    assert "memory wizard" in err and "s3cret" not in out + err
    assert not any(n in os.listdir("ast") for n in SECRET_FILES)  # push writes no secret file
