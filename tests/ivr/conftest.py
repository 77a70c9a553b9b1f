"""Fixtures for the IVR tests: the shipped sample flows and small hand-made flows."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from hotline.ivr.engine import FlowEngine
from hotline.ivr.files import SAMPLE_CONFIG, load_ivr_config
from hotline.ivr.model import Flow
from hotline.ivr.prompts import PromptCatalogue
from hotline.testing import sample_engine


@pytest.fixture(scope="session")
def sample() -> tuple[Mapping[str, Flow], PromptCatalogue]:
    return load_ivr_config(SAMPLE_CONFIG)


@pytest.fixture(scope="session")
def engine() -> FlowEngine:
    return sample_engine()


