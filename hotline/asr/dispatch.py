"""Smart dispatch: a category and department suggestion for a transcript or written request.

`SmartDispatcher` joins the two sources of a suggestion:
* a trained `DispatchModel` (optional — a new centre has none yet): character n-gram
  TF-IDF → linear SVM → temperature-calibrated probabilities (`dispatch_model`);
* `KeywordRules` from the centre's YAML (`dispatch_rules`): keywords → label with a
  weight, which boost or override the model, and the label → department map.

It implements `hotline.vocabulary.ports.TextClassifier`, so the IVR's speech node and the
agent desk's screen pop use it the same way. Everything here is pure and CPU-only;
loading a model file is the caller's (blocking) job, done once at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hotline.asr.dispatch_model import DispatchModel, load_model
from hotline.asr.dispatch_rules import KeywordRules, combine, load_rules
from hotline.vocabulary.ports import Suggestion

# The sample rules shipped with the product (an epidemic topic and department names).
DEFAULT_RULES_PATH = Path(__file__).parent / "data" / "dispatch_rules.yaml"


@dataclass(frozen=True, slots=True)
class DispatchSuggestion:
    """One ranked suggestion for the agent: category, its department, confidence, and
    where it came from ("model", "rules" or "model+rules")."""

    label: str
    department: str | None
    confidence: float
    source: str
    keywords: tuple[str, ...] = ()


class SmartDispatcher:
    def __init__(
        self,
        model: DispatchModel | None = None,
        rules: KeywordRules | None = None,
        departments: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.rules = rules if rules is not None else KeywordRules()
        # Explicit departments (e.g. from the centre config) win over the rules file's map.
        self._departments = dict(departments or {})

    @classmethod
    def from_files(
        cls, model_path: str | Path | None = None, rules_path: str | Path | None = None
    ) -> SmartDispatcher:
        """Blocking: reads the files. Run it at start-up or in a worker thread."""
        model = load_model(model_path) if model_path is not None else None
        rules = load_rules(rules_path) if rules_path is not None else KeywordRules()
        return cls(model, rules)

    @property
    def labels(self) -> tuple[str, ...]:
        known = self.model.labels if self.model is not None else ()
        return tuple(dict.fromkeys((*known, *self.rules.labels)))

    def department_for(self, label: str) -> str | None:
        if label in self._departments:
            return self._departments[label]
        return self.rules.department_for(label)

    def suggest(self, text: str, top_k: int = 3) -> list[DispatchSuggestion]:
        """The top-k labels by confidence (calibrated model probability mixed with rule
        evidence, see `dispatch_rules.combine`); confidences are in [0, 1], sum ≤ 1."""
        model_probs: dict[str, float] = {}
        if self.model is not None:
            probs = self.model.probabilities(text)
            model_probs = {
                label: float(p) for label, p in zip(self.model.labels, probs, strict=True)
            }
        matches = self.rules.match(text)
        confidences = combine(model_probs, matches)
        by_rule = {m.label: m.keywords for m in matches}
        ranked = sorted(confidences.items(), key=lambda item: (-item[1], item[0]))
        out = []
        for label, confidence in ranked[: max(top_k, 0)]:
            keywords = by_rule.get(label, ())
            if keywords and label in model_probs:
                source = "model+rules"
            elif keywords:
                source = "rules"
            else:
                source = "model"
            out.append(
                DispatchSuggestion(
                    label,
                    self.department_for(label),
                    min(max(confidence, 0.0), 1.0),
                    source,
                    keywords,
                )
            )
        return out

    def classify(self, text: str, top_k: int = 3) -> list[Suggestion]:
        """`TextClassifier`: category labels with confidences, best first."""
        return [Suggestion(s.label, s.confidence) for s in self.suggest(text, top_k)]
