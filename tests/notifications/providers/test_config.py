"""Choosing and setting up providers from KASSA_* settings."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from kassa.notifications.providers.aliyun import AliyunSmsProvider
from kassa.notifications.providers.config import (
    NotificationProviderSettings,
    build_email_provider,
    build_sms_providers,
    provider_by_name,
)
from kassa.notifications.providers.log import LogProvider
from kassa.notifications.providers.smtp import SmtpEmailProvider
from kassa.notifications.providers.tencent import TencentSmsProvider
from kassa.notifications.providers.twilio_sms import TwilioSmsProvider

from .conftest import sms
from .fake_aliyun import AliyunAccount, FakeAliyun

ALIYUN = {
    "KASSA_ALIYUN_ACCESS_KEY_ID": "LTAI5tKassaTestKeyId",
    "KASSA_ALIYUN_ACCESS_KEY_SECRET": "kassa-test-access-key-secret-0123",
    "KASSA_ALIYUN_SIGN_NAME": "卡萨咖啡",
}
TENCENT = {
    "KASSA_TENCENT_SECRET_ID": "AKIDkassa",
    "KASSA_TENCENT_SECRET_KEY": "tencent-secret-key",
    "KASSA_TENCENT_SMS_APP_ID": "1400787878",
    "KASSA_TENCENT_SIGN_NAME": "卡萨咖啡",
}


@pytest.fixture(autouse=True)
def _no_notification_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    names = NotificationProviderSettings.model_fields
    for variable in list(os.environ):
        if variable.startswith("KASSA_") and variable[len("KASSA_") :].lower() in names:
            monkeypatch.delenv(variable)


def with_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> NotificationProviderSettings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return NotificationProviderSettings()


def test_the_default_is_the_offline_log() -> None:
    settings = NotificationProviderSettings()

    [sms_provider] = build_sms_providers(settings)
    email_provider = build_email_provider(settings)

    assert isinstance(sms_provider, LogProvider)
    assert isinstance(email_provider, LogProvider)


@pytest.mark.parametrize(
    "listed", ["aliyun,tencent", " aliyun , tencent ", '["aliyun", "tencent"]', "Aliyun,TENCENT"]
)
def test_sms_providers_come_in_failover_order_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, listed: str
) -> None:
    settings = with_environment(monkeypatch, KASSA_SMS_PROVIDERS=listed, **ALIYUN, **TENCENT)

    providers = build_sms_providers(settings)

    assert [type(provider) for provider in providers] == [AliyunSmsProvider, TencentSmsProvider]
    assert [provider.name for provider in providers] == ["aliyun", "tencent"]


@pytest.mark.parametrize(
    ("listed", "missing"),
    [
        ("aliyun", "KASSA_ALIYUN_ACCESS_KEY_ID, KASSA_ALIYUN_ACCESS_KEY_SECRET, KASSA_ALIYUN_SIGN_NAME"),
        ("tencent", "KASSA_TENCENT_SECRET_ID, KASSA_TENCENT_SECRET_KEY"),
        ("twilio", "KASSA_TWILIO_ACCOUNT_SID, KASSA_TWILIO_AUTH_TOKEN"),
    ],
)
def test_a_provider_without_credentials_names_the_missing_settings(
    monkeypatch: pytest.MonkeyPatch, listed: str, missing: str
) -> None:
    settings = with_environment(monkeypatch, KASSA_SMS_PROVIDERS=listed)

    with pytest.raises(ValueError, match=missing):
        build_sms_providers(settings)


def test_twilio_needs_a_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = with_environment(
        monkeypatch, KASSA_SMS_PROVIDERS="twilio", KASSA_TWILIO_ACCOUNT_SID="AC1", KASSA_TWILIO_AUTH_TOKEN="t"
    )

    with pytest.raises(ValueError, match="KASSA_TWILIO_FROM_NUMBER or KASSA_TWILIO_MESSAGING_SERVICE_SID"):
        build_sms_providers(settings)


def test_twilio_settings_reach_the_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = with_environment(
        monkeypatch,
        KASSA_SMS_PROVIDERS="twilio",
        KASSA_TWILIO_ACCOUNT_SID="AC1",
        KASSA_TWILIO_AUTH_TOKEN="t",
        KASSA_TWILIO_FROM_NUMBER="+15005550006",
        KASSA_TWILIO_BASE_URL="http://127.0.0.1:9/",
    )

    [provider] = build_sms_providers(settings)

    assert isinstance(provider, TwilioSmsProvider)
    assert (provider.account_sid, provider.from_number, provider.base_url) == (
        "AC1",
        "+15005550006",
        "http://127.0.0.1:9",
    )


@pytest.mark.parametrize(
    ("environment", "expected_port", "is_starttls"),
    [
        ({}, 587, True),
        ({"KASSA_SMTP_USE_TLS": "true"}, 465, False),
        ({"KASSA_SMTP_PORT": "2525"}, 2525, True),
    ],
)
def test_smtp_settings_reach_the_adapter(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected_port: int, is_starttls: bool
) -> None:
    settings = with_environment(
        monkeypatch,
        KASSA_EMAIL_PROVIDER="smtp",
        KASSA_SMTP_HOST="smtp.example.com",
        KASSA_SMTP_FROM="Kassa <no-reply@cafe.example.com>",
        **environment,
    )

    provider = build_email_provider(settings)

    assert isinstance(provider, SmtpEmailProvider)
    assert (provider.host, provider.port, provider.starttls) == (
        "smtp.example.com",
        expected_port,
        is_starttls,
    )
    assert provider.message_id_domain == "cafe.example.com"


def test_smtp_without_a_host_names_the_missing_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = with_environment(monkeypatch, KASSA_EMAIL_PROVIDER="smtp")

    with pytest.raises(ValueError, match="KASSA_SMTP_HOST, KASSA_SMTP_FROM"):
        build_email_provider(settings)


def test_a_provider_of_the_wrong_channel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = with_environment(
        monkeypatch, KASSA_SMS_PROVIDERS="smtp", KASSA_SMTP_HOST="h", KASSA_SMTP_FROM="a@b.example"
    )

    with pytest.raises(ValueError, match="cannot send SMS"):
        build_sms_providers(settings)
    with pytest.raises(ValueError, match="cannot send e-mail"):
        build_email_provider(NotificationProviderSettings(email_provider="aliyun", **_aliyun_fields()))


@pytest.mark.parametrize("listed", ["log,carrier-pigeon", "", "log,log"])
def test_an_unusable_provider_list_is_a_settings_error(monkeypatch: pytest.MonkeyPatch, listed: str) -> None:
    monkeypatch.setenv("KASSA_SMS_PROVIDERS", listed)

    with pytest.raises(ValidationError):
        NotificationProviderSettings()


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notification provider 'fax'"):
        provider_by_name("fax", NotificationProviderSettings())


def test_secrets_stay_out_of_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = with_environment(monkeypatch, **ALIYUN)

    assert ALIYUN["KASSA_ALIYUN_ACCESS_KEY_SECRET"] not in repr(settings)


async def test_an_adapter_built_from_settings_sends(
    monkeypatch: pytest.MonkeyPatch, fake_aliyun: FakeAliyun, aliyun_account: AliyunAccount
) -> None:
    settings = with_environment(
        monkeypatch,
        KASSA_SMS_PROVIDERS="aliyun",
        KASSA_ALIYUN_ENDPOINT=fake_aliyun.endpoint,
        KASSA_ALIYUN_PROTOCOL="http",
        KASSA_NOTIFICATION_TIMEOUT_SECONDS="2",
        **ALIYUN,
    )
    [provider] = build_sms_providers(settings)

    result = await provider.send(sms())

    assert result.provider_message_id == "900619740001^0"
    assert fake_aliyun.sent[0]["SignName"] == aliyun_account.sign_name


def _aliyun_fields() -> dict[str, str]:
    return {name[len("KASSA_") :].lower(): value for name, value in ALIYUN.items()}
