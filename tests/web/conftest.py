"""Browser tests: the service on a loopback port, Debian's Chromium driven by Playwright.

The service is the API tests' harness (real runtime on the sample centre, migrated
SQLite, users of every role) served by uvicorn on 127.0.0.1, port 0, with a seat presence
source standing in for the AMI monitor (seat s01's softphone registered, s02's not, the
others never seen). The pages talk to that app; `site.harness.client` reaches the same
runtime and store through the harness's own app (for steps a test takes behind the
pages' backs). Chromium is
`/usr/bin/chromium` (Playwright never downloads a browser here); the tests skip, saying
so, when it is not installed (`apt-get install chromium`; `make test` does it).

Every page's console errors and uncaught exceptions are collected (a Content-Security-
Policy violation is one) and a test fails on any. Screenshots go to the test's tmp dir
and the last ones are copied to `/tmp/hotline-screens/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from api.conftest import CONFIG, PASSWORD, Harness, make_harness
from playwright.async_api import BrowserContext, ConsoleMessage, Page, async_playwright
from sqlalchemy.engine import URL

from hotline.api import Services, create_app
from hotline.api.presence import SoftphoneStatus
from hotline.config.loader import Centre, load_centre
from hotline.workorders.catalogue import Catalogue, load_catalogue

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHARED_SCREENS = Path("/tmp/hotline-screens")
EXPECTED_REFUSALS = ("/api/auth/login",)

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium "
                "(apt-get install -y chromium); the browser tests need it",
                allow_module_level=True)



@pytest.fixture(scope="session")
def web_centre() -> Centre:
    return load_centre(CONFIG)


@pytest.fixture(scope="session")
def web_catalogue(web_centre: Centre) -> Catalogue:
    return load_catalogue(CONFIG / "workorders.yaml", calendars=web_centre.config.holidays,
                          modes=web_centre.config.modes)


@dataclass
class Site:
    harness: Harness
    base: str
    services: Services  # what the pages' app serves

    def url(self, path: str = "/") -> str:
        return self.base + path


@dataclass
class ScriptedPresence:
    """What the AMI presence monitor would say, by endpoint (None: never seen)."""

    known: dict[str, SoftphoneStatus]

    def softphone(self, endpoint: str) -> SoftphoneStatus | None:
        return self.known.get(endpoint)


@pytest.fixture
async def site(tmp_path: Path, web_centre: Centre, web_catalogue: Catalogue
               ) -> AsyncIterator[Site]:
    url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "hotline.db"))
    async for harness in make_harness(url, web_centre, web_catalogue):
        seats = web_centre.config.seats
        presence = ScriptedPresence({
            seats["s01"].endpoint: SoftphoneStatus(True, "sip:8001@192.0.2.21:5060",
                                                   "NOT_INUSE", time.time() - 600),
            seats["s02"].endpoint: SoftphoneStatus(False, "", "UNAVAILABLE",
                                                   time.time() - 60),
        })
        services = Services.build(runtime=harness.runtime, engine=harness.engine,
                                  centre=web_centre, catalogue=web_catalogue,
                                  settings=harness.settings, presence=presence)
        app = create_app(services, harness.settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                log_level="warning", ws="websockets-sansio")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield Site(harness, f"http://127.0.0.1:{port}", services)
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class Browser:
    context: BrowserContext
    shots: Path
    errors: list[str] = field(default_factory=list)
    taken: list[Path] = field(default_factory=list)

    async def page(self) -> Page:
        page = await self.context.new_page()
        page.set_default_timeout(10_000)

        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            where = message.location.get("url", "")
            if where.endswith(EXPECTED_REFUSALS) and "status of 401" in message.text:
                return  # a wrong password is a test step, not a page error
            self.errors.append(f"{page.url}: {message.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    async def shot(self, page: Page, name: str) -> Path:
        path = self.shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
async def browser(tmp_path: Path, web_centre: Centre) -> AsyncIterator[Browser]:
    shots = tmp_path / "screens"
    shots.mkdir()
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1440, "height": 900},
            locale="zh-CN", service_workers="block",
            timezone_id=web_centre.config.centre.timezone,  # the staff's clocks
        )
        found = Browser(context, shots)
        try:
            yield found
        finally:
            await context.close()
    SHARED_SCREENS.mkdir(exist_ok=True)
    for path in found.taken:
        shutil.copy(path, SHARED_SCREENS / path.name)
    assert not found.errors, "the pages logged errors:\n" + "\n".join(found.errors)


async def sign_in(page: Page, site: Site, username: str) -> None:
    """Through the login page, as a person would."""
    await page.goto(site.url("/"))
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
