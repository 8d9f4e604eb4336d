"""The member portal through its API: the shop of tests/shop.py, the log provider standing
in for the SMS gateway, and a worker that sends the outbox so a test reads the code the
customer would get on their phone."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kassa.core.database import Database, utc_now
from kassa.core.outbox import OutboxWorker
from kassa.notifications import service as notifications
from kassa.notifications.providers.log import LogProvider
from kassa.worker import outbox_handlers
from tests.shop import Shop

_numbers = itertools.count(1)
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def new_phone() -> str:
    """A Chinese mobile number no other portal test uses, as a customer types it."""
    return f"137{next(_numbers):08d}"


def e164(phone: str) -> str:
    return f"+86{phone}"


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@dataclass
class Portal:
    """A customer's phone talking to the portal API of ``shop``'s store."""

    shop: Shop
    database: Database
    sms: LogProvider

    @property
    def client(self) -> httpx.AsyncClient:
        return self.shop.client

    @property
    def store_id(self) -> int:
        return self.shop.store_id

    async def send_outbox(self) -> None:
        # One at a time: the test shares one connection, which cannot serve handlers in parallel.
        worker = OutboxWorker(
            self.database,
            outbox_handlers(),
            now=lambda: utc_now() + timedelta(seconds=1),
            jitter=lambda: 0.0,
            batch_size=1,
        )
        for _ in range(100):
            if not await worker.run_once():
                break

    async def post(self, path: str, body: dict[str, Any], *, expect: int) -> dict[str, Any]:
        response = await self.client.post(f"/api/v1/portal/stores/{self.store_id}{path}", json=body)
        assert response.status_code == expect, response.text
        return dict(response.json())

    async def request_code(self, phone: str) -> str:
        """Ask for a login code and read it off the SMS the customer gets."""
        sent_to = (await self.post("/request-code", {"phone": phone}, expect=202))["phone"]
        await self.send_outbox()
        texts = [message.body for message in self.sms.sent if message.to == sent_to]
        assert texts, f"no SMS went to {phone}"
        found = CODE.search(texts[-1])
        assert found is not None, texts[-1]
        return found.group(1)

    async def verify(self, phone: str, code: str, *, expect: int = 200) -> dict[str, Any]:
        return await self.post("/verify-code", {"phone": phone, "code": code}, expect=expect)

    async def sign_up(
        self, phone: str, *, name: str = "Wang Fang", marketing: bool = False
    ) -> dict[str, str]:
        """A newcomer proves the number by SMS and signs up; their portal headers."""
        answer = await self.verify(phone, await self.request_code(phone))
        assert answer["registration_required"] is True
        session = await self.post(
            "/register",
            {
                "registration_ticket": answer["registration_ticket"],
                "name": name,
                "privacy_policy_accepted": True,
                "privacy_policy_version": "2026-11",
                "marketing_sms_opt_in": marketing,
            },
            expect=201,
        )
        return bearer(session["token"])

    async def log_in(self, phone: str) -> dict[str, str]:
        answer = await self.verify(phone, await self.request_code(phone))
        assert answer["token"], answer
        return bearer(answer["token"])

    async def me(self, headers: dict[str, str], method: str = "GET", path: str = "", **kwargs: Any) -> Any:
        """A call to ``/portal/me{path}``; returns the response."""
        return await self.client.request(method, f"/api/v1/portal/me{path}", headers=headers, **kwargs)

    async def paid_bill(
        self, member_id: int | None, products: tuple[str, ...] = ("latte", "cake")
    ) -> dict[str, Any]:
        """A takeaway bill the shop sold (by card), with the member on it."""
        bill = await self.shop.open_takeaway()
        for product in products:
            extra = {"modifier_option_ids": [self.shop.size_options["Large"]]} if product == "latte" else {}
            bill = await self.shop.add(bill, product, **extra)
        if member_id is not None:
            bill = await self.shop.call(
                "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member_id}
            )
        bill = await self.shop.pay(bill, "card", approval_code="A1")
        assert bill["status"] == "closed", bill
        return bill


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def portal(shop: Shop, database: Database, sms: LogProvider) -> Portal:
    return Portal(shop, database, sms)
