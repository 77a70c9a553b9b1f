"""`hotline check` / `hotline describe`, and settings from HOTLINE_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from config.conftest import SAMPLE
from config.editing import CentreCopy
from hotline.cli import main
from hotline.config.settings import Settings, SettingsError, mask_url


def test_check_sample_prints_summary_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "南京12345政务服务便民热线" in out
    assert "962110     -> flow police" in out
    assert "emergency" in out and "agents (128)" in out
    assert out.rstrip().endswith("configuration OK")


def test_check_prints_every_problem_and_exits_1(
    centre: CentreCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    centre.edit("centre.yaml", "flow: main", "flow: mian")
    centre.edit("centre.yaml", "s2: PJSIP/8002", "s2: PJSIP/8001")
    assert main(["check", "c"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "c/centre.yaml:9:11 lines.\"12345\".flow: no flow named 'mian' (did you mean 'main'?)",
        "c/centre.yaml:38:7 seats.s2: endpoint PJSIP/8001 is already used by seat 's1'",
        "2 problems found in c",
    ]


def test_describe(centre: CentreCopy, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "c"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Test centre (Asia/Shanghai, languages: zh, en)\n")
    assert "general      skills general (level >= 3), priority 0, overflow -> backup" in out


def test_settings_defaults_are_local_and_safe() -> None:
    settings = Settings.from_environ({})
    assert settings.bind_host == "127.0.0.1"
    assert settings.database_url.get_secret_value() == "sqlite:///./var/hotline.db"
    assert settings.ari_password is None


def test_settings_read_env_and_hide_secrets() -> None:
    settings = Settings.from_environ({
        "HOTLINE_ARI_URL": "http://127.0.0.1:8088/ari",
        "HOTLINE_ARI_USER": "hotline",
        "HOTLINE_ARI_PASSWORD": "s3cret",
        "HOTLINE_TWILIO_AUTH_TOKEN": "Tw1l10T0k3n",
        "HOTLINE_PORT": "9000",
        "HOTLINE_DATABASE_URL": "postgresql://app:pw@db:5432/hotline",
        "UNRELATED": "x",
    })
    assert settings.port == 9000
    assert isinstance(settings.ari_password, SecretStr)
    assert settings.ari_password.get_secret_value() == "s3cret"
    shown = repr(settings) + str(settings)
    assert "s3cret" not in shown and "Tw1l10T0k3n" not in shown and ":pw@" not in shown
    assert settings.database_url_for_logs() == "postgresql://app:***@db:5432/hotline"


def test_settings_errors_name_the_variables() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({"HOTLINE_PORT": "eighty", "HOTLINE_ARI_URL": "http://u:p@h/ari"})
    message = str(caught.value)
    assert "HOTLINE_PORT:" in message
    assert "HOTLINE_ARI_URL: put the password in its own" in message
    assert "u:p" not in message.replace("http://u:p@h/ari", "")


def test_mask_url_leaves_urls_without_password() -> None:
    assert mask_url("sqlite:///./var/hotline.db") == "sqlite:///./var/hotline.db"


def test_asterisk_files_have_a_seat_per_endpoint_and_no_secrets(
    centre: CentreCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    centre.edit("centre.yaml", "name: 12345 hotline", "name: hotline (main, 24h)")
    centre.edit("centre.yaml", "s2: PJSIP/8002", "s2: {endpoint: SIP/8002}")
    assert main(["asterisk-conf", "c", "--out", "ast", "--app", "hl"]) == 0
    pjsip = Path("ast/pjsip.conf").read_text(encoding="utf-8")
    dialplan = Path("ast/extensions.conf").read_text(encoding="utf-8")
    assert "[8001]\ntype=endpoint" in pjsip and "[8001]\ntype=aor" in pjsip
    assert "auth=8001-auth" in pjsip and "password" not in pjsip.split("#tryinclude")[1]
    assert "; seat s2: SIP/8002 is not a PJSIP endpoint; not generated" in pjsip
    assert "exten => 12345,1,NoOp(hotline  main  24h)\n same => n,Stasis(hl,12345)" in dialplan
    assert "wrote ast/pjsip.conf" in capsys.readouterr().out
