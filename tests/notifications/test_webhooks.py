"""The gateways' webhooks speak for one organization each: the token in the URL names it
(compared in constant time), a reply is matched only among its messages, a delivery report
touches only its messages, STOP opts out only its member; owners alone see and rotate the
URLs. Twilio's signature is checked on the public address (``KASSA_PUBLIC_URL``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.request_validator import RequestValidator

from kassa.core.audit import AuditRecord
from kassa.core.auth import Actor, Role
from kassa.core.database import Database
from kassa.core.settings import Settings, get_settings
from kassa.notifications import service as notifications
from kassa.notifications.models import InboundMessage, Message, MessageStatus
from kassa.notifications.providers.log import LogProvider
from kassa.notifications.providers.twilio_sms import TwilioSmsProvider
from kassa.stores.models import Store
from kassa.web.app import create_app
from tests.notifications.providers.conftest import _talk_to_local_servers_directly
from tests.notifications.providers.fake_twilio import FakeTwilio, TwilioAccount
from tests.returns.conftest import Worker
from tests.shop import Shop, build_shop

__all__ = ["_talk_to_local_servers_directly"]

PHONE = "+8613800138000"
TWILIO = TwilioAccount()
PUBLIC_URL = "https://kassa.example.com"


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@pytest.fixture
def worker(database: Database, sms: LogProvider) -> Worker:
    return Worker(database)


@pytest.fixture
async def other(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    """A second organization with its own store and staff, on the same server."""
    return Shop(client=client, **await build_shop(session))


async def _organization_id(session: AsyncSession, shop: Shop) -> int:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    return store.organization_id


async def _token(shop: Shop) -> str:
    return str((await shop.call("GET", "/notifications/webhooks", role=Role.OWNER))["token"])


async def _awaiting_reply(session: AsyncSession, shop: Shop, reply_code: str) -> Message:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    message = await notifications.queue_message(
        session,
        store=store,
        to=PHONE,
        event="free_text",
        variables={"text": "reply please"},
        cause=notifications.Cause("test"),
        subject=("test", 1),
        reply_code=reply_code,
    )
    await session.commit()
    return message


async def _post(
    client: httpx.AsyncClient, kind: str, token: str | None, body: dict[str, Any]
) -> httpx.Response:
    query = f"?{urlencode({'token': token})}" if token is not None else ""
    return await client.post(f"/api/v1/notifications/webhooks/log/{kind}{query}", json=body)


async def test_each_organization_has_its_own_token_and_urls(
    shop: Shop, other: Shop, session: AsyncSession, sms: LogProvider
) -> None:
    mine, theirs = await _token(shop), await _token(other)
    organization_id = await _organization_id(session, shop)
    assert mine.startswith(f"{organization_id}.")
    assert theirs.startswith(f"{await _organization_id(session, other)}.")
    assert mine != theirs
    shown = await shop.call("GET", "/notifications/webhooks", role=Role.OWNER)
    assert shown == {
        "organization_id": organization_id,
        "token": mine,
        "addresses": [
            {
                "provider": "log",
                "kind": kind,
                "url": f"http://127.0.0.1:8000/api/v1/notifications/webhooks/log/{kind}?token={mine}",
            }
            for kind in ("inbound", "delivery")
        ],
    }


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.WAITER])
async def test_only_owners_see_or_rotate_the_webhook_urls(shop: Shop, role: Role, sms: LogProvider) -> None:
    before = await _token(shop)
    for method, path in (("GET", "/notifications/webhooks"), ("POST", "/notifications/webhooks/rotate")):
        refused = await shop.call(method, path, role=role, expect=403)
        assert refused["permission"] == "settings.manage"
    assert await _token(shop) == before


async def test_a_reply_is_matched_only_among_the_messages_of_the_token_organization(
    shop: Shop, other: Shop, session: AsyncSession, sms: LogProvider
) -> None:
    # given the other organization waits for a reply from this number with code 4821
    theirs = await _awaiting_reply(session, other, "4821")

    # when the reply arrives by our webhook, it answers nothing of ours, and not theirs
    answer = await _post(shop.client, "inbound", await _token(shop), {"from": PHONE, "body": "1 4821"})
    assert answer.status_code == 200, answer.text
    [recorded] = (await session.scalars(select(InboundMessage))).all()
    assert (recorded.organization_id, recorded.message_id, recorded.outcome) == (
        await _organization_id(session, shop),
        None,
        "unmatched",
    )
    assert (await _log_entry(other, theirs.id))["replies"] == []

    # and by their webhook it answers their message
    answer = await _post(other.client, "inbound", await _token(other), {"from": PHONE, "body": "1 4821"})
    assert answer.status_code == 200, answer.text
    matched = await session.scalar(select(InboundMessage).where(InboundMessage.message_id == theirs.id))
    assert matched is not None
    assert (matched.organization_id, matched.outcome) == (await _organization_id(session, other), "recorded")


async def _log_entry(shop: Shop, message_id: int) -> dict[str, Any]:
    log = await shop.call("GET", f"/stores/{shop.store_id}/messages", role=Role.OWNER)
    [entry] = [item for item in log if item["id"] == message_id]
    return dict(entry)


async def test_a_delivery_report_touches_only_the_token_organization_messages(
    shop: Shop, other: Shop, session: AsyncSession, worker: Worker
) -> None:
    sent = await other.call(
        "POST", f"/stores/{other.store_id}/messages", {"to": "13800138000", "text": "hi"}, role=Role.MANAGER
    )
    await worker.run()
    report = {"message_id": sent["id"], "status": "failed", "error": "forged"}

    answer = await _post(shop.client, "delivery", await _token(shop), report)

    assert answer.status_code == 200, answer.text
    assert (await _log_entry(other, sent["id"]))["status"] == "sent"
    answer = await _post(other.client, "delivery", await _token(other), {**report, "status": "delivered"})
    assert answer.status_code == 200, answer.text
    assert (await _log_entry(other, sent["id"]))["status"] == "delivered"


async def test_stop_opts_out_only_the_member_of_the_token_organization(
    shop: Shop, other: Shop, sms: LogProvider
) -> None:
    members = {}
    for each in (shop, other):
        members[each.store_id] = await each.call(
            "POST",
            "/members",
            {
                "phone": "13800138000",
                "name": "Li Na",
                "privacy_policy_accepted": True,
                "privacy_policy_version": "2026-11",
                "marketing_sms_opt_in": True,
            },
        )

    answer = await _post(shop.client, "inbound", await _token(shop), {"from": PHONE, "body": "退订"})

    assert answer.status_code == 200, answer.text
    mine = await shop.call("GET", f"/members/{members[shop.store_id]['id']}")
    theirs = await other.call("GET", f"/members/{members[other.store_id]['id']}")
    assert (mine["marketing_sms_opt_in"], theirs["marketing_sms_opt_in"]) == (False, True)


async def test_a_reply_to_one_organization_is_not_shown_to_another_as_unmatched(
    shop: Shop, other: Shop, session: AsyncSession, sms: LogProvider
) -> None:
    for each in (shop, other):
        await each.call(
            "POST",
            f"/stores/{each.store_id}/messages",
            {"to": "13800138000", "text": "hi"},
            role=Role.MANAGER,
        )
    answer = await _post(shop.client, "inbound", await _token(shop), {"from": PHONE, "body": "thanks"})
    assert answer.status_code == 200
    shop_actor = _owner_actor(await _organization_id(session, shop), shop.store_id)
    other_actor = _owner_actor(await _organization_id(session, other), other.store_id)
    assert [
        reply.body for reply in await notifications.unmatched_replies(session, shop_actor, shop.store_id)
    ] == ["thanks"]
    assert await notifications.unmatched_replies(session, other_actor, other.store_id) == []


def _owner_actor(organization_id: int, store_id: int) -> Actor:
    return Actor(organization_id=organization_id, role=Role.OWNER, store_id=store_id)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda mine, theirs: None, id="no-token"),
        pytest.param(lambda mine, theirs: "", id="empty"),
        pytest.param(lambda mine, theirs: "wrong", id="wrong"),
        pytest.param(lambda mine, theirs: mine.split(".")[1], id="digest-alone"),
        pytest.param(lambda mine, theirs: f"{theirs.split('.')[0]}.{mine.split('.')[1]}", id="other-org-id"),
        pytest.param(lambda mine, theirs: f"0{mine}", id="leading-zero"),
        pytest.param(lambda mine, theirs: mine.upper(), id="upper-case"),
        pytest.param(lambda mine, theirs: mine[:-1], id="cut-short"),
        pytest.param(lambda mine, theirs: f"{'9' * 30}.{mine.split('.')[1]}", id="huge-org-id"),
        pytest.param(lambda mine, theirs: f"١.{mine.split('.')[1]}", id="arabic-digit"),
        pytest.param(lambda mine, theirs: f"{mine}\x00", id="nul"),
    ],
)
async def test_a_forged_token_is_refused_and_records_nothing(
    shop: Shop, other: Shop, session: AsyncSession, sms: LogProvider, forge: Any
) -> None:
    token = forge(await _token(shop), await _token(other))
    for kind, body in (
        ("inbound", {"from": PHONE, "body": "1 4821"}),
        ("delivery", {"message_id": 1, "status": "delivered"}),
    ):
        answer = await _post(shop.client, kind, token, body)
        assert answer.status_code in (401, 422), answer.text
        if answer.status_code == 401:
            assert answer.json()["errors"][0]["field"] == "token"
    assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_the_owner_rotates_the_token_and_the_old_urls_stop_working(
    shop: Shop, other: Shop, session: AsyncSession, sms: LogProvider
) -> None:
    old, theirs = await _token(shop), await _token(other)

    rotated = await shop.call("POST", "/notifications/webhooks/rotate", role=Role.OWNER)

    new = rotated["token"]
    assert new != old
    assert new.split(".")[0] == old.split(".")[0]
    assert await _token(shop) == new
    assert await _token(other) == theirs  # another organization's token stays
    assert (await _post(shop.client, "inbound", old, {"from": PHONE, "body": "hi"})).status_code == 401
    assert (await _post(shop.client, "inbound", new, {"from": PHONE, "body": "hi"})).status_code == 200
    [record] = (
        await session.scalars(select(AuditRecord).where(AuditRecord.action == "notification_webhooks.rotate"))
    ).all()
    assert (record.before, record.after) == ({"generation": 0}, {"generation": 1})  # never the token

    again = (await shop.call("POST", "/notifications/webhooks/rotate", role=Role.OWNER))["token"]
    assert again not in (old, new)
    assert (await _post(shop.client, "inbound", new, {"from": PHONE, "body": "hi"})).status_code == 401


# --- Twilio: signed on the public address ------------------------------------------------


def _twilio_provider(base_url: str = "http://127.0.0.1:1") -> TwilioSmsProvider:
    return TwilioSmsProvider(
        account_sid=TWILIO.account_sid,
        auth_token=TWILIO.auth_token,
        from_number=TWILIO.from_number,
        base_url=base_url,
        timeout_seconds=2.0,
    )


@pytest.fixture
def twilio() -> Iterator[TwilioSmsProvider]:
    provider = _twilio_provider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@pytest.fixture
async def public_client(database: Database, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Kassa behind a proxy: reached at http://kassa.internal, public at KASSA_PUBLIC_URL."""
    settings = Settings(database_url=database_url, enable_ui=False, public_url=PUBLIC_URL + "/")
    app = create_app(settings, database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kassa.internal:8000"
    ) as client:
        yield client


def _signed(url: str, text: str) -> tuple[dict[str, str], bytes]:
    fields = {"MessageSid": "SM" + "c" * 32, "From": PHONE, "To": TWILIO.from_number, "Body": text}
    signature = RequestValidator(TWILIO.auth_token).compute_signature(url, fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return headers, urlencode(fields).encode()


async def test_behind_a_proxy_twilio_signature_is_checked_on_the_public_url(
    shop: Shop,
    session: AsyncSession,
    twilio: TwilioSmsProvider,
    public_client: httpx.AsyncClient,
    client: httpx.AsyncClient,
) -> None:
    token = await _token(shop)
    path = f"/api/v1/notifications/webhooks/twilio/inbound?token={token}"
    headers, body = _signed(PUBLIC_URL + path, "hello")

    # Kassa knows its public address: the signature Twilio made on it holds
    answer = await public_client.post(path, headers=headers, content=body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")

    # a signature on the address the proxy used is refused there
    internal_headers, internal_body = _signed(f"http://kassa.internal:8000{path}", "hello")
    refused = await public_client.post(path, headers=internal_headers, content=internal_body)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "signature"

    # without KASSA_PUBLIC_URL the request's own address is what must be signed
    refused = await client.post(path, headers=headers, content=body)
    assert refused.status_code == 401
    [recorded] = (await session.scalars(select(InboundMessage))).all()
    assert (recorded.provider, recorded.body) == ("twilio", "hello")


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(TWILIO)
    fake.server.start()
    notifications.configure_providers(sms=[_twilio_provider(fake.base_url)], email=LogProvider("log-email"))
    yield fake
    notifications.configure_providers()
    fake.server.stop()
    assert fake.problems == []


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("KASSA_PUBLIC_URL", PUBLIC_URL)
    get_settings.cache_clear()
    yield PUBLIC_URL
    monkeypatch.delenv("KASSA_PUBLIC_URL")
    get_settings.cache_clear()


async def test_twilio_reports_delivery_to_the_organization_url(
    shop: Shop,
    other: Shop,
    session: AsyncSession,
    database: Database,
    fake_twilio: FakeTwilio,
    public_url: str,
) -> None:
    sent = {}
    for each in (shop, other):
        sent[each.store_id] = await each.call(
            "POST",
            f"/stores/{each.store_id}/messages",
            {"to": "13800138000", "text": "hi"},
            role=Role.MANAGER,
        )
    await Worker(database).run()

    callbacks = {form["Body"][0]: form["StatusCallback"][0] for form in fake_twilio.sent}
    for each in (shop, other):
        message = sent[each.store_id]
        assert callbacks[message["body"]] == (
            f"{public_url}/api/v1/notifications/webhooks/twilio/delivery?"
            f"{urlencode({'token': await _token(each), 'kassa_message_id': message['id']})}"
        )
    messages = (await session.scalars(select(Message).order_by(Message.id))).all()
    assert [message.status for message in messages] == [MessageStatus.SENT, MessageStatus.SENT]
