"""Fixtures for the centre tests: the shipped sample centre, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config.loader import Centre, load_centre

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="session")
def centre() -> Centre:
    return load_centre(CONFIG)
