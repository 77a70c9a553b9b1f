"""Which Asterisk servers `hotline serve` runs beside, read from the environment once."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli.serve import main as serve_main
from hotline.config.settings import Settings, SettingsError
from hotline.service.telephony import TelephonyOptions

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_one_server_from_the_names_the_live_tests_use() -> None:
    settings = Settings.from_environ({
        "ASTERISK_ARI_URL": "http://192.0.2.5:8088/ari", "ASTERISK_ARI_USER": "centre",
        "HOTLINE_ARI_PASSWORD": "ari-s3cret", "ASTERISK_AMI_USER": "presence",
        "HOTLINE_AMI_SECRET": "ami-s3cret", "HOTLINE_AGI_PORT": "4600",
    })
    (server,) = settings.asterisk()
    assert (server.name, server.ari_url, server.ari_user) == (
        "ast1", "http://192.0.2.5:8088/ari", "centre")
    assert server.ami and server.ami_user == "presence"
    assert (server.ami_address, server.ami_port) == ("192.0.2.5", 5038)  # the ARI host
    assert (server.agi_host, server.agi_port) == ("127.0.0.1", 4600)
    shown = repr(settings) + str(server)
    assert "ari-s3cret" not in shown and "ami-s3cret" not in shown


def test_hotline_names_win_and_ami_needs_its_secret() -> None:
    settings = Settings.from_environ({
        "HOTLINE_ARI_URL": "http://127.0.0.1:8088/ari",
        "ASTERISK_ARI_URL": "http://192.0.2.5:8088/ari",
        "HOTLINE_AGI_ENABLED": "false",
    })
    (server,) = settings.asterisk()
    assert server.ari_url == "http://127.0.0.1:8088/ari"
    assert not server.ami and server.agi_port is None


def test_no_asterisk_configured() -> None:
    assert Settings.from_environ({}).asterisk() == ()


def test_several_servers_from_suffixed_variables() -> None:
    settings = Settings.from_environ({
        "HOTLINE_ASTERISK_SERVERS": "ast1, ast-2",
        "HOTLINE_ARI_URL_AST1": "http://10.0.0.1:8088/ari",
        "HOTLINE_ARI_URL_AST_2": "http://10.0.0.2:8088/ari",
        "HOTLINE_ARI_PASSWORD": "shared", "HOTLINE_ARI_PASSWORD_AST_2": "own",
        "HOTLINE_AMI_SECRET": "ami", "HOTLINE_AMI_HOST_AST_2": "10.0.0.20",
    })
    first, second = settings.asterisk()
    assert (first.name, second.name) == ("ast1", "ast-2")
    assert first.ari_password is not None and first.ari_password.get_secret_value() == "shared"
    assert second.ari_password is not None and second.ari_password.get_secret_value() == "own"
    assert (first.ami_address, second.ami_address) == ("10.0.0.1", "10.0.0.20")
    assert (first.agi_port, second.agi_port) == (4573, 4574)  # one listener each
    TelephonyOptions(servers=settings.asterisk())  # a consistent set


def test_bad_server_settings_name_each_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({
            "HOTLINE_ASTERISK_SERVERS": "a,b,c",
            "HOTLINE_ARI_URL_A": "127.0.0.1:8088/ari",
            "HOTLINE_ARI_URL_C": "http://u:pw@10.0.0.3/ari",
            "HOTLINE_AMI_PORT_C": "many",
        })
    message = str(caught.value)
    assert "HOTLINE_ARI_URL_A: an http:// or https:// URL" in message
    assert "HOTLINE_ARI_URL_B: not set" in message
    assert "HOTLINE_ARI_URL_C: put the password in its own" in message
    assert "HOTLINE_AMI_PORT_C:" in message
    assert "pw@" not in message.replace("u:pw@10.0.0.3", "")


def test_two_servers_cannot_share_a_fastagi_port() -> None:
    with pytest.raises(SettingsError, match="HOTLINE_AGI_PORT_AST2: port 4573 is ast1's"):
        Settings.from_environ({
            "HOTLINE_ASTERISK_SERVERS": "ast1,ast2",
            "HOTLINE_ARI_URL_AST1": "http://10.0.0.1:8088/ari",
            "HOTLINE_ARI_URL_AST2": "http://10.0.0.2:8088/ari",
            "HOTLINE_AGI_PORT_AST2": "4573",
        })


def test_serve_refuses_to_simulate_beside_an_asterisk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASTERISK_ARI_URL", "http://127.0.0.1:8088/ari")
    code = serve_main(["--config", str(CONFIG), "--db", f"sqlite:///{tmp_path / 'h.db'}",
                       "--simulate", "--port", "0"])
    assert code == 2
    assert "--simulate cannot run beside an Asterisk" in capsys.readouterr().err
    assert not (tmp_path / "h.db").exists()
