"""Fixtures for the configuration tests: a copy of a small valid centre to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.editing import CentreCopy
from hotline.config.loader import Centre, load_centre

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = Path(__file__).parents[2] / "config"


@pytest.fixture
def centre(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CentreCopy:
    """The minimal centre copied to `c/` under a fresh working directory, so problems
    read `c/centre.yaml:9:11 ...` exactly as `hotline check c` prints them."""
    shutil.copytree(FIXTURES / "minimal", tmp_path / "c")
    monkeypatch.chdir(tmp_path)
    return CentreCopy(Path("c"))


@pytest.fixture(scope="session")
def sample() -> Centre:
    """The shipped sample centre (config/), loaded once."""
    return load_centre(SAMPLE)
