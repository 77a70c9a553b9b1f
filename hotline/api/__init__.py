"""The HTTP API and websockets (FastAPI): auth, agents' desks, supervision, calls,
work orders, reports. `create_app(services, settings)` builds the app; see `app`."""

from hotline.api.app import create_app
from hotline.api.services import Services
from hotline.api.settings import ApiSettings

__all__ = ["ApiSettings", "Services", "create_app"]
