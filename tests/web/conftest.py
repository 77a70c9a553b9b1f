"""Browser tests: the service on a loopback port, Debian's Chromium driven by Playwright.

The service is the API tests' harness (real runtime on the sample centre, migrated
SQLite, users of every role) served by uvicorn on 127.0.0.1, port 0. Chromium is
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
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from api.conftest import CONFIG, PASSWORD, Harness, make_harness
from playwright.async_api import BrowserContext, ConsoleMessage, Page, async_playwright
from sqlalchemy.engine import URL

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

    def url(self, path: str = "/") -> str:
        return self.base + path


@pytest.fixture
async def site(tmp_path: Path, web_centre: Centre, web_catalogue: Catalogue
               ) -> AsyncIterator[Site]:
    url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "hotline.db"))
    async for harness in make_harness(url, web_centre, web_catalogue):
        config = uvicorn.Config(harness.app, host="127.0.0.1", port=0, lifespan="off",
                                log_level="warning", ws="websockets-sansio")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield Site(harness, f"http://127.0.0.1:{port}")
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
