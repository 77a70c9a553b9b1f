"""Keyword rules for smart dispatch: new topics work before any model is retrained.

When a new topic appears (an epidemic, a flood, a new policy) the centre cannot wait
for labelled work orders; a supervisor adds a rule — keywords → label (and department)
with a weight — and the next call is dispatched by it. The file also maps labels to
departments, for labels that come from the model:

    departments:
      城乡建设: 市住房和城乡建设局
    rules:
      - label: epidemic
        department: 市疫情防控指挥部
        weight: 3
        keywords: [新冠, 核酸, 隔离, 健康码]

How rules combine with the model (`combine`): each matched keyword adds its rule's
weight to that rule's label (a keyword counts once however often it occurs). With E the
total evidence, rules take the share m = 1 − e^(−E) of the probability mass, split
between their labels in proportion to their evidence; the model's probabilities are
scaled into the remaining 1 − m. So one keyword of weight 3 gives its label at least
0.95 — an override — while weight 0.5 gives 0.39 on top of the model — a boost; the
confidences still sum to at most 1 (exactly 1 with a model; with rules alone the
missing 1 − m is the admitted uncertainty).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.asr.text import join_cjk_words, normalise
from hotline.config.yaml_positions import PositionedDocument, YamlProblems, load_yaml_file
from hotline.vocabulary.problems import ConfigError, ConfigProblem


@dataclass(frozen=True, slots=True)
class KeywordRule:
    label: str
    keywords: tuple[str, ...]
    weight: float = 1.0
    department: str | None = None


@dataclass(frozen=True, slots=True)
class RuleMatch:
    label: str
    evidence: float
    keywords: tuple[str, ...]


def _match_form(text: str) -> str:
    # Keywords and requests are compared in one form: normalised, Vosk spaces removed.
    return join_cjk_words(normalise(text))


class KeywordRules:
    """Rules and the label → department map (immutable once built)."""

    def __init__(
        self, rules: Sequence[KeywordRule] = (), departments: Mapping[str, str] | None = None
    ) -> None:
        self.rules = tuple(rules)
        self.departments: Mapping[str, str] = dict(departments or {})
        # The comparison form of every keyword, computed once.
        self._prepared = tuple(
            (rule, tuple((k, _match_form(k)) for k in rule.keywords)) for rule in self.rules
        )

    def match(self, text: str) -> list[RuleMatch]:
        """Labels whose keywords occur in `text`, with their summed evidence, strongest first."""
        form = _match_form(text)
        evidence: dict[str, float] = {}
        hits: dict[str, list[str]] = {}
        for rule, keywords in self._prepared:
            for keyword, keyword_form in keywords:
                if keyword_form and keyword_form in form:
                    evidence[rule.label] = evidence.get(rule.label, 0.0) + rule.weight
                    hits.setdefault(rule.label, []).append(keyword)
        matches = [RuleMatch(label, e, tuple(hits[label])) for label, e in evidence.items()]
        return sorted(matches, key=lambda m: (-m.evidence, m.label))

    def department_for(self, label: str) -> str | None:
        """A rule's own department wins over the label mapping (it is more specific)."""
        for rule in self.rules:
            if rule.label == label and rule.department:
                return rule.department
        return self.departments.get(label)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.label for rule in self.rules))


def combine(model: Mapping[str, float], matches: Sequence[RuleMatch]) -> dict[str, float]:
    """Model probabilities (may be empty) + rule evidence → confidences (sum ≤ 1)."""
    total = sum(m.evidence for m in matches)
    share = 1.0 - math.exp(-total) if total > 0 else 0.0
    combined = {label: (1.0 - share) * p for label, p in model.items()}
    for m in matches:
        combined[m.label] = combined.get(m.label, 0.0) + share * m.evidence / total
    return combined


def load_rules(path: str | Path) -> KeywordRules:
    """Read a rules file; `ConfigError` lists every problem with file, line and field."""
    path = Path(path)
    try:
        doc = load_yaml_file(path)
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from exc
    problems: list[ConfigProblem] = []
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([doc.problem((), "expected a mapping with `rules` and `departments`")])
    for key in data:
        if key not in ("rules", "departments"):
            problems.append(
                doc.problem((key,), "unknown field (expected rules, departments)", at_key=True)
            )
    departments = _departments(doc, data.get("departments", {}), problems)
    rules = _rules(doc, data.get("rules", []), problems)
    if problems:
        raise ConfigError(problems)
    return KeywordRules(tuple(rules), departments)


def _departments(
    doc: PositionedDocument, raw: Any, problems: list[ConfigProblem]
) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(doc.problem(("departments",), "expected a mapping of label: department"))
        return {}
    out: dict[str, str] = {}
    for label, department in raw.items():
        if not isinstance(department, str) or not department.strip():
            problems.append(doc.problem(("departments", label), "expected a department name"))
        else:
            out[str(label)] = department.strip()
    return out


def _rules(doc: PositionedDocument, raw: Any, problems: list[ConfigProblem]) -> list[KeywordRule]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(doc.problem(("rules",), "expected a list of rules"))
        return []
    rules: list[KeywordRule] = []
    for i, item in enumerate(raw):
        where: tuple[str | int, ...] = ("rules", i)
        if not isinstance(item, dict):
            problems.append(doc.problem(where, "expected a rule (label, keywords, weight)"))
            continue
        before = len(problems)
        for key in item:
            if key not in ("label", "keywords", "weight", "department"):
                problems.append(
                    doc.problem(
                        (*where, key),
                        "unknown field (expected label, keywords, weight, department)",
                        at_key=True,
                    )
                )
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            problems.append(doc.problem((*where, "label"), "a rule needs a label"))
        keywords = item.get("keywords")
        if (
            not isinstance(keywords, list)
            or not keywords
            or not all(isinstance(k, str) and k.strip() for k in keywords)
        ):
            problems.append(
                doc.problem((*where, "keywords"), "expected a non-empty list of keywords")
            )
        weight = item.get("weight", 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not (0 < weight < math.inf)
        ):
            problems.append(doc.problem((*where, "weight"), "expected a positive number"))
        department = item.get("department")
        if department is not None and (not isinstance(department, str) or not department.strip()):
            problems.append(doc.problem((*where, "department"), "expected a department name"))
        if len(problems) == before:
            assert isinstance(label, str) and isinstance(keywords, list)
            rules.append(
                KeywordRule(
                    label.strip(),
                    tuple(k.strip() for k in keywords),
                    float(weight),
                    department.strip() if isinstance(department, str) else None,
                )
            )
    return rules
