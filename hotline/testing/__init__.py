"""Test kit for flows and the kernel: scripted callers, fake recognisers and classifiers.

Shipped in the package so that config authors can try their flows too; see
`hotline.testing.flows.run_flow`.
"""

from hotline.testing.fakes import (
    KeywordClassifier,
    ScriptedRecognizer,
    Utterance,
    satisfaction_classifier,
)
from hotline.testing.flows import (
    DEFAULT_AT,
    SAMPLE_LINES,
    FlowRun,
    Press,
    Say,
    ScriptError,
    Silence,
    Step,
    SwitchMode,
    Turn,
    parse_at,
    run_flow,
    sample_classifier,
    sample_engine,
    sample_environment,
)

__all__ = [
    "DEFAULT_AT",
    "SAMPLE_LINES",
    "FlowRun",
    "KeywordClassifier",
    "Press",
    "Say",
    "ScriptError",
    "ScriptedRecognizer",
    "Silence",
    "Step",
    "SwitchMode",
    "Turn",
    "Utterance",
    "parse_at",
    "run_flow",
    "sample_classifier",
    "sample_engine",
    "sample_environment",
    "satisfaction_classifier",
]
