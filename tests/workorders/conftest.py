from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config.loader import Centre, load_centre
from hotline.workorders.catalogue import Catalogue, load_catalogue
from hotline.workorders.working_time import WorkCalendar

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="session")
def centre() -> Centre:
    return load_centre(CONFIG)


@pytest.fixture(scope="session")
def catalogue(centre: Centre) -> Catalogue:
    return load_catalogue(CONFIG / "workorders.yaml", calendars=centre.config.holidays,
                          modes=centre.modes)


@pytest.fixture(scope="session")
def calendar(catalogue: Catalogue, centre: Centre) -> WorkCalendar:
    return catalogue.work_calendar(centre.config)
