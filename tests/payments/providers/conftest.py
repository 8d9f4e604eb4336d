"""Fixtures: keys made per test session, and fake providers on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kassa.payments.providers import build_provider
from kassa.payments.providers.alipay import AlipayProvider
from kassa.payments.providers.wechat_pay import WeChatPayProvider

from .fake_alipay import AlipayAccount, FakeAlipay
from .fake_wechat_pay import FakeWeChatPay, WeChatPayAccount
from .keys import new_rsa_key, private_pem, public_pem

NOTIFY_URL = "https://kassa.example.com/payments/notify"


@pytest.fixture(autouse=True)
def _talk_to_local_servers_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests and urllib honour proxy variables; the fakes live on 127.0.0.1."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def wechat_pay_account() -> WeChatPayAccount:
    return WeChatPayAccount(
        merchant_id="1900009191",
        app_id="wxd678efh567hg6787",
        merchant_key=new_rsa_key(),
        merchant_certificate_serial="3775B6A45ACD588826D15E583A95F5DD12345678",
        platform_key=new_rsa_key(),
        platform_public_key_id="PUB_KEY_ID_0114232134912410000000000000",
        api_v3_key="a" * 16 + "kassaTestKey0123",  # APIv3 keys are 32 characters
    )


def wechat_pay_config(account: WeChatPayAccount, gateway_url: str) -> dict[str, str]:
    return {
        "merchant_id": account.merchant_id,
        "app_id": account.app_id,
        "merchant_private_key": private_pem(account.merchant_key),
        "merchant_certificate_serial": account.merchant_certificate_serial,
        "api_v3_key": account.api_v3_key,
        "platform_public_key": public_pem(account.platform_key),
        "platform_public_key_id": account.platform_public_key_id,
        "notify_url": NOTIFY_URL,
        "store_id": "store-7",
        "gateway_url": gateway_url,
        "timeout_seconds": "5",
    }


@pytest.fixture
def fake_wechat_pay(wechat_pay_account: WeChatPayAccount) -> Iterator[FakeWeChatPay]:
    fake = FakeWeChatPay(wechat_pay_account)
    fake.server.start()
    yield fake
    fake.server.stop()
    assert fake.server.crashes == []
    assert fake.problems == [], "the adapter sent requests WeChat Pay would reject"


@pytest.fixture
def wechat_pay(fake_wechat_pay: FakeWeChatPay, wechat_pay_account: WeChatPayAccount) -> WeChatPayProvider:
    provider = build_provider("wechat_pay", wechat_pay_config(wechat_pay_account, fake_wechat_pay.base_url))
    assert isinstance(provider, WeChatPayProvider)
    return provider


@pytest.fixture(scope="session")
def alipay_account() -> AlipayAccount:
    return AlipayAccount(app_id="2021000000000001", app_key=new_rsa_key(), alipay_key=new_rsa_key())


def alipay_config(account: AlipayAccount, gateway_url: str) -> dict[str, str]:
    return {
        "app_id": account.app_id,
        "app_private_key": private_pem(account.app_key),
        "alipay_public_key": public_pem(account.alipay_key),
        "notify_url": NOTIFY_URL,
        "gateway_url": gateway_url,
        "timeout_seconds": "5",
    }


@pytest.fixture
def fake_alipay(alipay_account: AlipayAccount) -> Iterator[FakeAlipay]:
    fake = FakeAlipay(alipay_account)
    fake.server.start()
    yield fake
    fake.server.stop()
    assert fake.server.crashes == []
    assert fake.problems == [], "the adapter sent requests Alipay would reject"


@pytest.fixture
def alipay(fake_alipay: FakeAlipay, alipay_account: AlipayAccount) -> AlipayProvider:
    provider = build_provider("alipay", alipay_config(alipay_account, fake_alipay.gateway_url))
    assert isinstance(provider, AlipayProvider)
    return provider
