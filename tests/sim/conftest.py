"""Fixtures for the kernel and simulator tests: the shipped sample centre."""

from __future__ import annotations

import pytest

from hotline.centre.kernel import CentreKernel
from hotline.config.loader import Centre, load_centre

from .kit import CONFIG


@pytest.fixture(scope="session")
def centre() -> Centre:
    """The sample centre, loaded once (it is frozen, so tests cannot change it)."""
    return load_centre(CONFIG)


@pytest.fixture
def kernel(centre: Centre) -> CentreKernel:
    """A fresh centre kernel on the sample, in normal mode."""
    return CentreKernel.from_config(centre)
