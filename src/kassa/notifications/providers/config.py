"""Which providers send SMS and e-mail, from ``KASSA_*`` settings.

``KASSA_SMS_PROVIDERS=aliyun,tencent,twilio`` lists SMS providers in failover order;
``KASSA_EMAIL_PROVIDER=smtp`` picks the e-mail one. Both default to ``log``, which sends
nothing, so the demo works offline. A provider named without its credentials is a
configuration error, raised as a ``ValueError`` that names the missing settings.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kassa.notifications.providers.base import Channel, NotificationProvider

PROVIDER_NAMES = ("log", "aliyun", "tencent", "twilio", "smtp")


class NotificationProviderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KASSA_", extra="ignore")

    # NoDecode: the environment gives "aliyun,tencent", not JSON; the validator splits it.
    sms_providers: Annotated[list[str], NoDecode] = ["log"]
    email_provider: str = "log"
    notification_timeout_seconds: float = 10.0

    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_sign_name: str | None = None
    aliyun_endpoint: str = "dysmsapi.aliyuncs.com"
    aliyun_protocol: str = "https"

    tencent_secret_id: str | None = None
    tencent_secret_key: SecretStr | None = None
    tencent_sms_app_id: str | None = None
    tencent_sign_name: str | None = None
    tencent_region: str = "ap-guangzhou"
    tencent_endpoint: str = "sms.tencentcloudapi.com"
    tencent_scheme: str = "https"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_status_callback_url: str | None = None
    twilio_base_url: str = "https://api.twilio.com"

    smtp_host: str | None = None
    smtp_port: int | None = None  # default: 465 with implicit TLS, 587 with STARTTLS, else 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_use_tls: bool = False
    smtp_from: str | None = None
    smtp_timeout_seconds: float = 30.0

    @field_validator("sms_providers", mode="before")
    @classmethod
    def _split_provider_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [name.strip() for name in text.split(",") if name.strip()]
        return value

    @field_validator("sms_providers", mode="after")
    @classmethod
    def _known_sms_providers(cls, value: list[str]) -> list[str]:
        names = [name.lower() for name in value]
        if not names:
            raise ValueError("name at least one SMS provider (e.g. 'log')")
        unknown = [name for name in names if name not in PROVIDER_NAMES]
        if unknown:
            raise ValueError(f"unknown SMS provider {unknown[0]!r}; known: {', '.join(PROVIDER_NAMES)}")
        if len(set(names)) != len(names):
            raise ValueError("an SMS provider is listed twice")
        return names

    @field_validator("email_provider", mode="after")
    @classmethod
    def _known_email_provider(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in PROVIDER_NAMES:
            raise ValueError(f"unknown e-mail provider {name!r}; known: {', '.join(PROVIDER_NAMES)}")
        return name


def _require(settings: NotificationProviderSettings, provider: str, *fields: str) -> None:
    missing = [f"KASSA_{field.upper()}" for field in fields if not getattr(settings, field)]
    if missing:
        raise ValueError(f"the {provider!r} notification provider needs {', '.join(missing)}")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def provider_by_name(name: str, settings: NotificationProviderSettings) -> NotificationProvider:
    """A new provider ``name`` set up from ``settings``; ValueError if it is unknown or its
    credentials are missing."""
    # Each SDK is imported only when its provider is used: they are slow to import.
    if name == "log":
        from kassa.notifications.providers.log import LogProvider

        return LogProvider()
    if name == "aliyun":
        _require(settings, name, "aliyun_access_key_id", "aliyun_access_key_secret", "aliyun_sign_name")
        from kassa.notifications.providers.aliyun import AliyunSmsProvider

        return AliyunSmsProvider(
            access_key_id=settings.aliyun_access_key_id or "",
            access_key_secret=_secret(settings.aliyun_access_key_secret),
            sign_name=settings.aliyun_sign_name or "",
            endpoint=settings.aliyun_endpoint,
            protocol=settings.aliyun_protocol,
            timeout_seconds=settings.notification_timeout_seconds,
        )
    if name == "tencent":
        _require(
            settings,
            name,
            "tencent_secret_id",
            "tencent_secret_key",
            "tencent_sms_app_id",
            "tencent_sign_name",
        )
        from kassa.notifications.providers.tencent import TencentSmsProvider

        return TencentSmsProvider(
            secret_id=settings.tencent_secret_id or "",
            secret_key=_secret(settings.tencent_secret_key),
            sms_app_id=settings.tencent_sms_app_id or "",
            sign_name=settings.tencent_sign_name or "",
            region=settings.tencent_region,
            endpoint=settings.tencent_endpoint,
            scheme=settings.tencent_scheme,
            timeout_seconds=settings.notification_timeout_seconds,
        )
    if name == "twilio":
        _require(settings, name, "twilio_account_sid", "twilio_auth_token")
        if not settings.twilio_from_number and not settings.twilio_messaging_service_sid:
            raise ValueError(
                "the 'twilio' notification provider needs KASSA_TWILIO_FROM_NUMBER "
                "or KASSA_TWILIO_MESSAGING_SERVICE_SID"
            )
        from kassa.notifications.providers.twilio_sms import TwilioSmsProvider

        return TwilioSmsProvider(
            account_sid=settings.twilio_account_sid or "",
            auth_token=_secret(settings.twilio_auth_token),
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback_url=settings.twilio_status_callback_url,
            base_url=settings.twilio_base_url,
            timeout_seconds=settings.notification_timeout_seconds,
        )
    if name == "smtp":
        _require(settings, name, "smtp_host", "smtp_from")
        from kassa.notifications.providers.smtp import SmtpEmailProvider

        return SmtpEmailProvider(
            host=settings.smtp_host or "",
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=_secret(settings.smtp_password) or None,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_use_tls,
            from_address=settings.smtp_from or "",
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    raise ValueError(f"unknown notification provider {name!r}; known: {', '.join(PROVIDER_NAMES)}")


def build_sms_providers(settings: NotificationProviderSettings) -> list[NotificationProvider]:
    """The SMS providers in failover order."""
    providers = [provider_by_name(name, settings) for name in settings.sms_providers]
    for provider in providers:
        if Channel.SMS not in provider.channels:
            raise ValueError(f"{provider.name!r} cannot send SMS (KASSA_SMS_PROVIDERS)")
    return providers


def build_email_provider(settings: NotificationProviderSettings) -> NotificationProvider:
    provider = provider_by_name(settings.email_provider, settings)
    if Channel.EMAIL not in provider.channels:
        raise ValueError(f"{provider.name!r} cannot send e-mail (KASSA_EMAIL_PROVIDER)")
    return provider
