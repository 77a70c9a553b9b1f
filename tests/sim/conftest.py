"""Fixtures for the kernel and simulator tests: the shipped sample centre."""

from __future__ import annotations

import pytest

from hotline.centre.kernel import CentreKernel
from hotline.composition import build_kernel
from hotline.config.loader import Centre, load_centre
from hotline.projections.stats import LiveStats

from .kit import CONFIG, TZ


@pytest.fixture(scope="session")
def centre() -> Centre:
    """The sample centre, loaded once (it is frozen, so tests cannot change it)."""
    return load_centre(CONFIG)


@pytest.fixture
def stats() -> LiveStats:
    """Live statistics fed with every fact of the `kernel` fixture."""
    return LiveStats(timezone=TZ)


@pytest.fixture
def kernel(centre: Centre, stats: LiveStats) -> CentreKernel:
    """A fresh centre kernel on the sample, in normal mode."""
    return build_kernel(centre, observers=[stats.apply])
