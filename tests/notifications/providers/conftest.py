"""Fixtures: a fake gateway on 127.0.0.1 per test, and the adapter pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kassa.notifications.providers.aliyun import AliyunSmsProvider
from kassa.notifications.providers.base import Channel, OutgoingMessage
from kassa.notifications.providers.tencent import TencentSmsProvider
from kassa.notifications.providers.twilio_sms import TwilioSmsProvider

from .fake_aliyun import AliyunAccount, FakeAliyun
from .fake_tencent import FakeTencent, TencentAccount
from .fake_twilio import FakeTwilio, TwilioAccount

# Short, so a test of an unreachable gateway stays fast.
TIMEOUT_SECONDS = 2.0
STATUS_CALLBACK_URL = "https://kassa.example.com/api/v1/webhooks/sms/twilio/status?token=s3cret"


@pytest.fixture(autouse=True)
def _talk_to_local_servers_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs honour proxy variables; the fakes live on 127.0.0.1."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def sms(
    *,
    message_id: int = 42,
    to: str = "+8613800138000",
    body: str = "王小明，您的退货已受理，退款 ¥12.50 将原路退回。",
    template_code: str | None = "SMS_276455123",
    params: dict[str, str] | None = None,
    numbered: tuple[str, ...] | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel=Channel.SMS,
        to=to,
        body=body,
        event="return_notice",
        template_params={"name": "王小明", "amount": "12.50"} if params is None else params,
        numbered_params=("王小明", "12.50") if numbered is None else numbered,
        provider_template_code=template_code,
    )


@pytest.fixture
def aliyun_account() -> AliyunAccount:
    return AliyunAccount()


@pytest.fixture
def fake_aliyun(aliyun_account: AliyunAccount) -> Iterator[FakeAliyun]:
    fake = FakeAliyun(aliyun_account)
    fake.server.start()
    yield fake
    fake.server.stop()
    assert fake.server.crashes == []
    assert fake.problems == [], "the adapter sent requests Aliyun would refuse"


@pytest.fixture
def aliyun(fake_aliyun: FakeAliyun, aliyun_account: AliyunAccount) -> AliyunSmsProvider:
    return AliyunSmsProvider(
        access_key_id=aliyun_account.access_key_id,
        access_key_secret=aliyun_account.access_key_secret,
        sign_name=aliyun_account.sign_name,
        endpoint=fake_aliyun.endpoint,
        protocol="http",
        timeout_seconds=TIMEOUT_SECONDS,
    )


@pytest.fixture
def tencent_account() -> TencentAccount:
    return TencentAccount()


@pytest.fixture
def fake_tencent(tencent_account: TencentAccount) -> Iterator[FakeTencent]:
    fake = FakeTencent(tencent_account)
    fake.server.start()
    yield fake
    fake.server.stop()
    assert fake.server.crashes == []
    assert fake.problems == [], "the adapter sent requests Tencent would refuse"


@pytest.fixture
def tencent(fake_tencent: FakeTencent, tencent_account: TencentAccount) -> TencentSmsProvider:
    return TencentSmsProvider(
        secret_id=tencent_account.secret_id,
        secret_key=tencent_account.secret_key,
        sms_app_id=tencent_account.sms_app_id,
        sign_name=tencent_account.sign_name,
        endpoint=fake_tencent.endpoint,
        scheme="http",
        timeout_seconds=TIMEOUT_SECONDS,
    )


@pytest.fixture
def twilio_account() -> TwilioAccount:
    return TwilioAccount()


@pytest.fixture
def fake_twilio(twilio_account: TwilioAccount) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(twilio_account)
    fake.server.start()
    yield fake
    fake.server.stop()
    assert fake.server.crashes == []
    assert fake.problems == [], "the adapter sent requests Twilio would refuse"


@pytest.fixture
def twilio(fake_twilio: FakeTwilio, twilio_account: TwilioAccount) -> TwilioSmsProvider:
    return TwilioSmsProvider(
        account_sid=twilio_account.account_sid,
        auth_token=twilio_account.auth_token,
        from_number=twilio_account.from_number,
        status_callback_url=STATUS_CALLBACK_URL,
        base_url=fake_twilio.base_url,
        timeout_seconds=TIMEOUT_SECONDS,
    )
