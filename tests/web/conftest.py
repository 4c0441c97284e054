"""The web console against a real server on 127.0.0.1 (port 0) over the test_efs registry,
and a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

One browser and one console server per module keep the run short;
each test gets a fresh browser context (its own storage). Screenshots of every step go to
the session's temporary folder (printed at the end of a failing test)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dsgrid_sql.http.server import HttpServer
from dsgrid_sql.service.config import ServerConfig
from dsgrid_sql.service.core import ServerCore
from dsgrid_sql.web import mount_console

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Waits are on conditions; this is only how long a condition may take on a loaded machine.
TIMEOUT_MS = 60_000


@dataclass
class Console:
    core: ServerCore
    http: HttpServer

    @property
    def url(self) -> str:
        return self.http.url

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def close(self) -> None:
        self.http.close()
        self.core.close()


def start_console(registry: Path, jobs_dir: Path, **settings: Any) -> Console:
    config = ServerConfig(registry=registry, jobs_dir=jobs_dir, **settings)
    core = ServerCore(config)
    try:
        http = HttpServer(core, "127.0.0.1", 0, extensions=[mount_console])
    except BaseException:
        core.close()
        raise
    return Console(core, http)


@pytest.fixture(scope="module")
def console(efs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    served = start_console(efs_dir, tmp_path_factory.mktemp("console-jobs"))
    yield served
    served.close()


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("DSGRID_SQL_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


# Per module, not per session: Playwright's sync API keeps an asyncio loop running on the main
# thread while it lives, which other tests' asyncio.run (prompt-toolkit's) must not meet.
@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "No Chromium on this machine (apt-get install chromium, or set "
            "DSGRID_SQL_CHROMIUM): the web console's browser tests need one."
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        # Playwright starts Chromium on a fresh temporary user-data dir of its own, and each
        # test opens a new context (empty storage) in it.
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@dataclass
class PageHandle:
    page: Any
    screenshots: Path
    name: str
    problems: list[str]
    requests: list[str]
    step: int = 0

    def shot(self, label: str) -> Path:
        self.step += 1
        path = self.screenshots / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def open_console(
    browser: Any, screenshots: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., PageHandle]]:
    """Open the console in a fresh context; at the end, no page error and no request that
    left the server (the console works offline)."""
    contexts: list[Any] = []
    handles: list[tuple[PageHandle, str]] = []

    def open_(console: Console, *, wait_ready: bool = True) -> PageHandle:
        from playwright.sync_api import expect

        context = browser.new_context(
            viewport={"width": 1400, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        handle = PageHandle(page, screenshots, request.node.name, [], [])
        page.on("pageerror", lambda error: handle.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                handle.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("request", lambda r: handle.requests.append(r.url))
        page.goto(console.url + "/")
        if wait_ready:
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
        handles.append((handle, console.url))
        return handle

    yield open_
    for context in contexts:
        context.close()
    for handle, origin in handles:
        foreign = [
            u for u in handle.requests if not u.startswith((origin + "/", "blob:", "data:"))
        ]
        assert foreign == [], f"requests that left the server: {foreign}"
        # A refused statement is an HTTP 4xx, which Chromium logs as a failed resource.
        unexpected = [p for p in handle.problems if "Failed to load resource" not in p]
        assert unexpected == [], f"problems on the page: {unexpected}"
