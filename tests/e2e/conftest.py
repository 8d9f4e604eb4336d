"""A real Kassa server in a subprocess and headless Chromium driving it.

The browser tests are skipped, with a reason, where /usr/bin/chromium is missing.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import _recreate_postgres_database
from tests.live import OWNER

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: browser tests skipped (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, Locator, Page, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_database_url(tmp_path: Path) -> str:
    configured = os.environ.get("KASSA_TEST_DATABASE_URL")
    if not configured:
        return f"sqlite+aiosqlite:///{tmp_path / 'kassa-e2e.db'}"
    url = make_url(configured)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server_url = url.set(database=f"{url.database}_e2e_{worker}").render_as_string(hide_password=False)
    asyncio.run(_recreate_postgres_database(server_url))
    return server_url


# Where each running server keeps its files: base URL -> its folder (var/, nicegui/).
SERVER_FOLDERS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kassa run` with the demo store, as `make run` starts it."""
    tmp_path = tmp_path_factory.mktemp("server")
    port = _free_port()
    environment = {
        **os.environ,
        "KASSA_DATABASE_URL": _server_database_url(tmp_path),
        "KASSA_VAR_DIR": str(tmp_path / "var"),
        "KASSA_PORT": str(port),
        "KASSA_ENABLE_UI": "true",
        "KASSA_PASSWORD_HASH_PROFILE": "cheapest",
        "NICEGUI_STORAGE_PATH": str(tmp_path / "nicegui"),
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kassa.cli", "run"], env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # migrating and seeding take a while on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp_path / 'server.log').read_text()}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError(f"server did not start: {(tmp_path / 'server.log').read_text()}")
    SERVER_FOLDERS[base_url] = tmp_path
    yield base_url
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def has_no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def by_testid(page: Page, name: str) -> Locator:
    """The element a test finds by its ``data-testid``."""
    return page.locator(f'[data-testid="{name}"]')


def set_up_register(page: Page, server: str, register: str = "Counter 1") -> None:
    """A new browser is set up as a register: the demo owner logs in once on /setup and
    picks the register; the PIN pad follows."""
    page.goto(server + "/")
    page.wait_for_url(re.compile(r"/setup$"))
    by_testid(page, "email").fill(str(OWNER.email))
    by_testid(page, "password").fill(str(OWNER.password))
    by_testid(page, "login").click()
    page.get_by_role("button", name=re.compile(register)).click()
    page.wait_for_url(re.compile(r"/$"))


def log_in_at_register(
    page: Page, server: str, staff_name: str = "Chen Cashier", pin: str = "3333", register: str = "Counter 1"
) -> None:
    """A new browser: set it up as the register first, then the staff member, then the PIN."""
    set_up_register(page, server, register)
    page.get_by_role("button", name=re.compile(staff_name)).click()
    for digit in pin:
        by_testid(page, f"pin-{digit}").click()
    by_testid(page, "pin-ok").click()
    page.wait_for_url(re.compile(r"/register"))
