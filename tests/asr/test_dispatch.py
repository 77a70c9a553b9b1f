"""Smart dispatch: CSV reading, training, evaluation, model files, rules, calibration."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.asr.dispatch import DEFAULT_RULES_PATH, SmartDispatcher
from hotline.asr.dispatch_data import LabelledText, read_labelled_csv
from hotline.asr.dispatch_errors import ModelFormatError, TrainingDataError
from hotline.asr.dispatch_features import FeatureSpace, FieldSpec, code_points, ngram_keys, prepare
from hotline.asr.dispatch_metrics import evaluate, top1_calibration_error
from hotline.asr.dispatch_model import (
    FORMAT_VERSION,
    DispatchModel,
    load_model,
    read_header,
    save_model,
    train_model,
)
from hotline.asr.dispatch_rules import KeywordRule, KeywordRules, combine, load_rules
from hotline.asr.dispatch_samples import synthetic_requests
from hotline.cli import main

TRAIN = synthetic_requests(per_label=30, seed=1)
TEST = synthetic_requests(per_label=15, seed=2)


@pytest.fixture(scope="module")
def model() -> DispatchModel:
    return train_model(TRAIN, source="synthetic.csv", trained_at="2026-01-01T00:00:00+00:00")


def write_csv(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def quoted(row: LabelledText) -> tuple[str, str]:
    return '"' + row.text.replace('"', '""') + '"', row.label


# --- reading labelled CSVs -------------------------------------------------------


def test_csv_columns_are_found_by_name_and_others_ignored(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "rows.csv",
        "id,label,source,text",
        ['7,roads,web,"路灯不亮, 请修"', "8,noise,phone,广场舞噪音"],
    )
    assert read_labelled_csv(path) == [
        LabelledText("路灯不亮, 请修", "roads"),
        LabelledText("广场舞噪音", "noise"),
    ]


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rows.csv", "id,category,text", ["1,roads,路灯不亮"])
    with pytest.raises(TrainingDataError) as caught:
        read_labelled_csv(path)
    assert str(path) in str(caught.value)
    assert "'label'" in str(caught.value)
    assert "'category'" in str(caught.value)  # says what it found instead


def test_empty_label_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rows.csv", "text,label", ["路灯不亮,roads", "噪音,", "x,noise"])
    with pytest.raises(TrainingDataError, match=r"rows\.csv:3: empty 'label'"):
        read_labelled_csv(path)


def test_unreadable_and_non_utf8_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="cannot read file"):
        read_labelled_csv(tmp_path / "absent.csv")
    bad = tmp_path / "gbk.csv"
    bad.write_bytes("text,label\n路灯,roads\n".encode("gbk"))
    with pytest.raises(TrainingDataError, match="not UTF-8"):
        read_labelled_csv(bad)


# --- features ----------------------------------------------------------------------


def test_features_ignore_asr_spaces_width_and_digits() -> None:
    assert prepare("不 满意 ２０２０年") == prepare("不满意1999年") == "不满意0年"
    space = FeatureSpace.fit([r.text for r in TRAIN])
    a_cols, a_vals = space.row("广场舞 噪音 太大")
    b_cols, b_vals = space.row("广场舞噪音太大")
    assert a_cols.tolist() == b_cols.tolist()
    assert np.allclose(a_vals, b_vals)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=4), st.text(min_size=1, max_size=4))
def test_distinct_ngrams_get_distinct_keys(a: str, b: str) -> None:
    key_a = ngram_keys(code_points(a), len(a), len(a))
    key_b = ngram_keys(code_points(b), len(b), len(b))
    assert (key_a.tolist() == key_b.tolist()) == (a == b)


def test_field_spec_rejects_impossible_ngram_sizes() -> None:
    with pytest.raises(ValueError, match="n-gram sizes"):
        FieldSpec("text", 3, 2)
    with pytest.raises(ValueError, match="n-gram sizes"):
        FieldSpec("text", 1, 8)


def test_long_texts_are_cut_the_same_way_in_training_and_prediction() -> None:
    long_text = "1" * 3000 + "路灯不亮" * 400
    space, matrix = FeatureSpace.fit_transform([long_text, "井盖丢失"])
    cols, vals = space.row(long_text)
    dense = np.zeros(space.size)
    dense[cols] = vals
    assert np.allclose(dense, matrix[0].toarray().ravel())


def test_single_row_path_matches_batch_matrix() -> None:
    texts = [r.text for r in TRAIN]
    space, matrix = FeatureSpace.fit_transform(texts)
    assert np.allclose(space.transform(texts).toarray(), matrix.toarray())
    cols, vals = space.row(texts[0])
    dense = np.zeros(space.size)
    dense[cols] = vals
    assert np.allclose(dense, matrix[0].toarray().ravel())


# --- training and evaluation --------------------------------------------------------


def test_trained_model_classifies_held_out_requests(model: DispatchModel) -> None:
    predicted = [model.classify(r.text, top_k=1)[0].label for r in TEST]
    result = evaluate([r.label for r in TEST], predicted)
    assert result.accuracy >= 0.95
    assert set(model.labels) == {"roads", "noise", "wages", "schools"}
    # A request with no known n-gram at all still gets a ranking, not an error.
    assert len(model.classify("zzz", top_k=2)) == 2


def test_training_needs_two_labels() -> None:
    with pytest.raises(TrainingDataError, match="two different labels"):
        train_model([LabelledText("路灯不亮", "roads"), LabelledText("井盖丢失", "roads")])


def test_two_labels_and_tiny_labels_still_train() -> None:
    rows = [r for r in TRAIN if r.label in ("roads", "noise")]
    binary = train_model(rows)
    assert binary.classify("路灯不亮，请修", top_k=1)[0].label == "roads"
    assert binary.classify("酒吧音响太吵", top_k=1)[0].label == "noise"
    tiny = train_model([*rows, LabelledText("拖欠工资", "wages")])
    assert "skipped" in tiny.metadata["calibration"]
    assert tiny.temperature == 1.0


def test_metrics_on_a_hand_computed_example() -> None:
    result = evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result.accuracy == 0.75
    # F1(a) = 2·1/(2+1) = 2/3, F1(b) = 2·2/(2+3) = 4/5
    assert result.macro_f1 == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert result.confusion == ((1, 1), (0, 2))


# --- calibration ---------------------------------------------------------------------


def test_temperature_is_fitted_on_held_out_folds(model: DispatchModel) -> None:
    calibration = model.metadata["calibration"]
    assert calibration["folds"] == 5
    assert calibration["temperature"] == pytest.approx(model.temperature)
    assert calibration["ece_calibrated"] <= calibration["ece_uncalibrated"] + 1e-9


def test_temperature_recovers_a_known_temperature() -> None:
    from hotline.asr.dispatch_calibration import (
        expected_calibration_error,
        fit_temperature,
        softmax,
    )

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4000, 4)) * 3.0
    true_t = 2.5  # labels drawn from softmax(scores / 2.5): raw softmax is overconfident
    probs = softmax(scores, true_t)
    truth = np.array([rng.choice(4, p=p) for p in probs])
    fitted = fit_temperature(scores, truth)
    assert fitted == pytest.approx(true_t, rel=0.15)
    assert expected_calibration_error(softmax(scores, fitted), truth) < (
        expected_calibration_error(softmax(scores, 1.0), truth)
    )


def test_top1_calibration_error_of_perfect_and_awful_confidence() -> None:
    truth = ["a"] * 10
    assert top1_calibration_error(truth, ["a"] * 10, [1.0] * 10) == pytest.approx(0.0)
    assert top1_calibration_error(truth, ["b"] * 10, [1.0] * 10) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80), top_k=st.integers(min_value=0, max_value=6))
def test_suggestions_are_ranked_probabilities(model: DispatchModel, text: str, top_k: int) -> None:
    dispatcher = SmartDispatcher(model, load_rules(DEFAULT_RULES_PATH))
    suggestions = dispatcher.classify(text, top_k=top_k)
    assert len(suggestions) <= top_k
    confidences = [s.confidence for s in suggestions]
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert sum(confidences) <= 1.0 + 1e-9
    assert confidences == sorted(confidences, reverse=True)
    full = dispatcher.classify(text, top_k=100)
    assert sum(s.confidence for s in full) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["核酸检测", "健康码", "隔离", "口罩", "燃气泄漏", "路灯", " "])).map(
        "".join
    )
)
def test_rules_alone_leave_room_for_doubt(text: str) -> None:
    ranked = SmartDispatcher(rules=load_rules(DEFAULT_RULES_PATH)).classify(text, top_k=10)
    total = sum(s.confidence for s in ranked)
    assert total < 1.0 if ranked else total == 0.0
    assert all(0.0 < s.confidence < 1.0 for s in ranked)


def test_dispatcher_from_files(model: DispatchModel, tmp_path: Path) -> None:
    save_model(model, tmp_path / "m.model")
    dispatcher = SmartDispatcher.from_files(tmp_path / "m.model", DEFAULT_RULES_PATH)
    assert dispatcher.model is not None and dispatcher.model.labels == model.labels
    assert "epidemic" in dispatcher.labels and "roads" in dispatcher.labels
    assert SmartDispatcher.from_files().suggest("路灯不亮") == []


def test_odd_input_is_classified_not_rejected(model: DispatchModel) -> None:
    for text in ("", "   ", "\ud800 lone surrogate", "\x00\x01", "ｆｕｌｌ　ｗｉｄｔｈ", "🙂" * 50):
        ranked = model.classify(text, top_k=7)
        assert sum(s.confidence for s in ranked) == pytest.approx(1.0)


# --- model files -----------------------------------------------------------------------


def test_model_file_round_trip(model: DispatchModel, tmp_path: Path) -> None:
    path = tmp_path / "dispatch.model"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.labels == model.labels
    assert loaded.temperature == model.temperature
    for row in TEST[:10]:
        assert np.allclose(loaded.probabilities(row.text), model.probabilities(row.text))
    header = read_header(path)
    assert header["format_version"] == FORMAT_VERSION
    assert header["labels"] == list(model.labels)
    assert header["training"]["rows"] == len(TRAIN)
    assert header["training"]["source"] == "synthetic.csv"
    assert {"numpy", "scikit-learn", "python", "hotline"} <= set(header["libraries"])
    assert not list(tmp_path.glob("*.partial"))


def _rewrite(path: Path, member: str, content: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = content
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_other_format_version_is_refused(model: DispatchModel, tmp_path: Path) -> None:
    path = tmp_path / "future.model"
    save_model(model, path)
    header = read_header(path)
    header["format_version"] = FORMAT_VERSION + 1
    _rewrite(path, "header.json", json.dumps(header).encode())
    with pytest.raises(ModelFormatError, match=r"format version 2 .* reads version 1.*retrain"):
        load_model(path)


@pytest.mark.parametrize(
    ("member", "content", "message"),
    [
        ("header.json", b'{"format": "something-else"}', "not a dispatch model"),
        ("header.json", b"\xff\xfe", "damaged model header"),
        ("bias.npy", b"not an array", "damaged model file"),
    ],
)
def test_damaged_model_files_are_refused(
    model: DispatchModel, tmp_path: Path, member: str, content: bytes, message: str
) -> None:
    path = tmp_path / "damaged.model"
    save_model(model, path)
    _rewrite(path, member, content)
    with pytest.raises(ModelFormatError, match=message):
        load_model(path)


def test_pickled_arrays_are_never_loaded(model: DispatchModel, tmp_path: Path) -> None:
    path = tmp_path / "evil.model"
    save_model(model, path)
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    _rewrite(path, "weights.npy", buffer.getvalue())
    with pytest.raises(ModelFormatError, match=r"weights\.npy"):
        load_model(path)


def test_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "x.model"
    path.write_text("hello")
    with pytest.raises(ModelFormatError, match="not a dispatch model file"):
        load_model(path)
    with pytest.raises(ModelFormatError, match="no such model file"):
        load_model(tmp_path / "missing.model")


# --- keyword rules ---------------------------------------------------------------------


def test_dispatcher_and_model_are_text_classifiers(model: DispatchModel) -> None:
    from hotline.vocabulary.ports import TextClassifier

    classifiers: list[TextClassifier] = [model, SmartDispatcher(model), SmartDispatcher()]
    for classifier in classifiers:
        assert isinstance(classifier.classify("路灯不亮", top_k=2), list)


def test_rules_work_before_any_training() -> None:
    dispatcher = SmartDispatcher(rules=load_rules(DEFAULT_RULES_PATH))
    top = dispatcher.suggest("我 做了 核酸检测，健康码 还是 黄码")[0]
    assert top.label == "epidemic"
    assert top.department == "市疫情防控指挥部"
    assert top.source == "rules"
    assert top.keywords == ("核酸检测", "健康码")
    assert top.confidence > 0.95
    assert dispatcher.suggest("路灯不亮") == []


def test_rules_override_or_boost_the_model(model: DispatchModel) -> None:
    text = "幸福小区路灯不亮，而且小区要求居家隔离"
    assert model.classify(text, top_k=1)[0].label == "roads"
    strong = SmartDispatcher(model, KeywordRules([KeywordRule("epidemic", ("居家隔离",), 3.0)]))
    assert strong.classify(text, top_k=1)[0].label == "epidemic"
    weak = SmartDispatcher(model, KeywordRules([KeywordRule("epidemic", ("居家隔离",), 0.2)]))
    ranked = weak.suggest(text, top_k=4)
    assert ranked[0].label == "roads"  # a nudge does not outvote a confident model
    assert ranked[1].label == "epidemic"
    boosted = SmartDispatcher(model, KeywordRules([KeywordRule("noise", ("路灯",), 0.5)]))
    assert boosted.suggest(text, top_k=4)[1].source == "model+rules"


def test_combine_keeps_confidences_a_distribution() -> None:
    assert combine({}, []) == {}
    merged = combine({"a": 0.7, "b": 0.3}, [])
    assert merged == pytest.approx({"a": 0.7, "b": 0.3})


def test_departments_from_map_rules_and_constructor() -> None:
    rules = KeywordRules(
        [KeywordRule("epidemic", ("核酸",), 1.0, "防控办")], {"epidemic": "卫健委", "roads": "城管"}
    )
    assert rules.department_for("epidemic") == "防控办"  # the rule's own wins
    assert rules.department_for("roads") == "城管"
    assert rules.department_for("other") is None
    dispatcher = SmartDispatcher(rules=rules, departments={"roads": "市政"})
    assert dispatcher.department_for("roads") == "市政"


def test_rule_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    from hotline.vocabulary.problems import ConfigError

    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - label: epidemic\n"
        "    keywords: []\n"
        "    weight: -1\n"
        "  - label: flood\n"
        "    keyword: [洪水]\n"
        "departments: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    text = str(caught.value)
    assert f"{path}:3:" in text and "rules[0].keywords" in text
    assert f"{path}:4:" in text and "positive number" in text
    assert f"{path}:6:" in text and "unknown field" in text
    assert "departments" in text


# --- command line --------------------------------------------------------------------------


def _csv_file(path: Path, rows: list[LabelledText]) -> Path:
    lines = [f"{i},{','.join(quoted(r))}" for i, r in enumerate(rows)]
    return write_csv(path, "id,text,label", lines)


def test_cli_train_eval_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train_csv = _csv_file(tmp_path / "train.csv", TRAIN)
    test_csv = _csv_file(tmp_path / "test.csv", TEST)
    model_path = tmp_path / "m.model"
    assert main(["dispatch", "train", "--csv", str(train_csv), "--model", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "ece_calibrated:" in out and f"rows: {len(TRAIN)}" in out
    assert read_header(model_path)["training"]["source"] == "train.csv"

    assert main(["dispatch", "eval", "--csv", str(test_csv), "--model", str(model_path)]) == 0
    out = capsys.readouterr().out
    accuracy = float(next(ln for ln in out.splitlines() if ln.startswith("accuracy:")).split()[1])
    assert accuracy >= 0.95
    assert "macro_f1:" in out and "confusion" in out

    assert main(["dispatch", "predict", "--model", str(model_path), "井盖丢失了"]) == 0
    first = capsys.readouterr().out.splitlines()[0].split("\t")
    assert first[1] == "roads"
    assert 0.0 <= float(first[0]) <= 1.0


def test_cli_reports_bad_input_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_csv(tmp_path / "bad.csv", "id,body,label", ["1,x,roads"])
    code = main(["dispatch", "train", "--csv", str(bad), "--model", str(tmp_path / "m")])
    assert code == 2
    assert "missing column 'text'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    junk = tmp_path / "junk.model"
    junk.write_text("junk")
    assert main(["dispatch", "predict", "--model", str(junk), "x"]) == 2
    assert "not a dispatch model file" in capsys.readouterr().err


def test_cli_predict_with_rules_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dispatch", "predict", "闻到煤气味，怀疑燃气泄漏"]) == 0
    assert "\tsafety\t市应急管理局\trules" in capsys.readouterr().out
