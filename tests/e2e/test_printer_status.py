"""A printer that is off: the register shows the waiting receipt, and the chip goes away
once the printer is back and the outbox delivers it."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests import live
from tests.e2e.conftest import TABLET, _free_port, by_testid, screenshot
from tests.e2e.test_login_journey import _set_up_register_and_log_in

pytestmark = pytest.mark.browser


@contextmanager
def printer_listening(port: int) -> Iterator[list[bytes]]:
    """A raw-port receipt printer (the 9100 protocol: bytes in, nothing back)."""
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            with connection:
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
                received.append(b"".join(chunks))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def _api_sale(server: str) -> None:
    with httpx.Client(base_url=server + "/api/v1", timeout=10) as api:
        api.headers.update(live.pin_login(server, staff_id=3, pin="3333"))
        menu = api.get("/catalog/stores/1/menu").json()
        product = next(
            product
            for category in menu["categories"]
            for product in category["products"]
            if product["kind"] == "standard" and not product["is_sold_out"]
        )
        options = [group["options"][0]["id"] for group in product["modifier_groups"] if group["is_required"]]
        sale = api.post(
            "/sales",
            json={
                "lines": [{"product_id": product["id"], "modifier_option_ids": options}],
                "tenders": [{"tender": "card", "approval_code": "E2E"}],
            },
            headers={"Idempotency-Key": "e2e-printer-sale-1"},
        )
        assert sale.status_code == 201, sale.text
        printed = api.post(f"/bills/{sale.json()['id']}/receipt")
        assert printed.status_code == 200, printed.text


def test_a_printer_that_is_off_shows_on_the_register_until_the_receipt_prints(
    server: str, browser: Browser
) -> None:
    port = _free_port()
    with httpx.Client(base_url=server + "/api/v1", timeout=10) as owner:
        response = owner.put(
            "/registers/1/printer",
            json={"receipt_printer": f"tcp://127.0.0.1:{port}"},
            headers=live.owner_headers(server),
        )
        assert response.status_code == 200, response.text

    page = browser.new_page(viewport=TABLET)
    _set_up_register_and_log_in(page, server, "Chen Cashier", "3333")
    page.wait_for_url(re.compile(r"/register$"))
    expect(by_testid(page, "print-queue")).to_be_hidden()

    _api_sale(server)  # nothing listens on the printer's port yet
    chip = by_testid(page, "print-queue")
    expect(chip).to_be_visible(timeout=15_000)
    expect(chip).to_contain_text("1")
    screenshot(page, "register-printer-off")

    with printer_listening(port) as received:
        # the worker's next retry reaches the printer; the chip goes away by itself
        expect(chip).to_be_hidden(timeout=30_000)
    assert len(received) == 1
    assert b"E2E" in received[0]
    page.close()
