from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hotline.asr.errors import ModelUnavailable
from hotline.asr.models import SpeechModel, load_model
from hotline.asr.settings import AsrSettings, model_setting_name
from hotline.asr.vocabulary import VocabularyError, read_vocabulary


def test_settings_from_env_map_languages_to_directories(tmp_path: Path) -> None:
    settings = AsrSettings.from_env({
        "HOTLINE_ASR_MODEL_ZH": str(tmp_path / "cn"),
        "HOTLINE_ASR_MODEL_ZH_HK": str(tmp_path / "hk"),
        "HOTLINE_ASR_MAX_STREAMS": "6",
        "HOTLINE_ASR_MODEL_EMPTY": " ",
        "PATH": "/usr/bin",
    })
    assert settings.max_streams == 6
    assert settings.model_for("zh") == ("zh", tmp_path / "cn", "HOTLINE_ASR_MODEL_ZH")
    assert settings.model_for("zh-CN") == ("zh", tmp_path / "cn", "HOTLINE_ASR_MODEL_ZH")
    assert settings.model_for("zh_HK") == ("zh-hk", tmp_path / "hk", "HOTLINE_ASR_MODEL_ZH_HK")
    assert settings.model_for("ko") == ("ko", None, "HOTLINE_ASR_MODEL_KO")
    assert "empty" not in settings.models


def test_bad_capacity_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="HOTLINE_ASR_WORKERS"):
        AsrSettings.from_env({"HOTLINE_ASR_WORKERS": "two"})
    with pytest.raises(ValueError, match="max_streams"):
        AsrSettings(max_streams=0)


def test_setting_name() -> None:
    assert model_setting_name("zh-cn") == "HOTLINE_ASR_MODEL_ZH_CN"


def test_missing_directory_error_names_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "vosk-model-small-cn-0.22"
    with pytest.raises(ModelUnavailable) as caught:
        load_model("zh", missing, "HOTLINE_ASR_MODEL_ZH")
    message = str(caught.value)
    assert "HOTLINE_ASR_MODEL_ZH=" in message and str(missing) in message
    assert "does not exist" in message
    assert caught.value.setting == "HOTLINE_ASR_MODEL_ZH"


def test_directory_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ModelUnavailable, match=r"HOTLINE_ASR_MODEL_ZH=.*missing am/final\.mdl"):
        load_model("zh", tmp_path, "HOTLINE_ASR_MODEL_ZH")
    file = tmp_path / "model.zip"
    file.write_bytes(b"PK")
    with pytest.raises(ModelUnavailable, match="not a directory"):
        load_model("zh", file, "HOTLINE_ASR_MODEL_ZH")


def _fake_model(root: Path, graph_files: dict[str, bytes]) -> Path:
    (root / "am").mkdir(parents=True)
    (root / "am" / "final.mdl").write_bytes(b"not really a model")
    (root / "conf").mkdir()
    (root / "conf" / "model.conf").write_text("--min-active=200\n")
    (root / "graph").mkdir()
    for name, data in graph_files.items():
        (root / "graph" / name).write_bytes(data)
    return root


def test_unreadable_model_files_name_the_setting(tmp_path: Path) -> None:
    root = _fake_model(tmp_path / "m", {"HCLG.fst": b"junk", "words.txt": b"<eps> 0\n[unk] 1\n"})
    with pytest.raises(ModelUnavailable, match=r"HOTLINE_ASR_MODEL_ZH=.*Vosk could not load it"):
        load_model("zh", root, "HOTLINE_ASR_MODEL_ZH")
    root2 = _fake_model(tmp_path / "m2", {"HCLG.fst": b"junk"})
    with pytest.raises(ModelUnavailable, match="unreadable word list"):
        load_model("zh", root2, "HOTLINE_ASR_MODEL_ZH")
    root3 = _fake_model(tmp_path / "m3", {})
    with pytest.raises(ModelUnavailable, match=r"missing graph/HCLG\.fst"):
        load_model("zh", root3, "HOTLINE_ASR_MODEL_ZH")


def test_real_model_loads_once_per_process(ko_model: SpeechModel, ko_model_dir: Path) -> None:
    again = load_model("ko", ko_model_dir / ".", "ANOTHER_SETTING")
    assert again is ko_model
    assert ko_model.supports_grammar  # the Korean model is a lookahead (HCLr + Gr) model


def test_vocabulary_read_from_the_lookahead_graph(ko_model: SpeechModel) -> None:
    vocabulary = ko_model.vocabulary
    assert vocabulary.source.name == "Gr.fst"  # this model ships no words.txt
    assert vocabulary.unknown_token == "<UNK>"  # not Vosk's usual [unk]
    assert {"네", "아니요", "서울", "안녕하세요"} <= vocabulary.words
    assert len(vocabulary) > 400_000
    assert "<eps>" not in vocabulary
    assert "하나둘셋넷" not in vocabulary


def test_vocabulary_from_words_txt_detects_bracket_unk(tmp_path: Path) -> None:
    root = _fake_model(tmp_path, {"words.txt": "<eps> 0\n[unk] 1\n人工 2\n服务 3\n".encode()})
    vocabulary = read_vocabulary(root)
    assert vocabulary.unknown_token == "[unk]"
    assert vocabulary.words == {"[unk]", "人工", "服务"}


def test_vocabulary_errors(tmp_path: Path) -> None:
    bad = _fake_model(tmp_path / "a", {"words.txt": b"<eps> 0\nno-id-here\n"})
    with pytest.raises(VocabularyError, match=r"words\.txt:2"):
        read_vocabulary(bad)
    not_fst = _fake_model(tmp_path / "b", {"Gr.fst": b"\x00" * 64})
    with pytest.raises(VocabularyError, match="not an OpenFst"):
        read_vocabulary(not_fst)
    header = struct.pack("<i", 2125659606) + struct.pack("<i", 5) + b"ngram"
    truncated = _fake_model(tmp_path / "c", {"Gr.fst": header})
    with pytest.raises(VocabularyError, match=r"truncated|bad string"):
        read_vocabulary(truncated)
