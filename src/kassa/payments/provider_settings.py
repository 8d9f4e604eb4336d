"""Which provider takes a store's WeChat Pay and Alipay money, with its credentials.

An owner chooses per store and wallet tender: the simulator (demo, training) or the real
provider with the merchant's credentials. A tender with no choice is refused at the counter
(:class:`PaymentProviderNotConfigured`), never quietly simulated.

Private keys and the APIv3 key are stored encrypted (``core.crypto``, bound to the store
and tender); they never leave this module except into the provider adapter: no screen, API
answer, audit record or log line carries them (the audit records which ones changed).

:func:`provider_for` is the hot path of every wallet payment, refund and notification: one
read of the settings row, and the provider built once per store, tender and revision of
the settings (building loads the SDK and parses keys), so a save takes effect at once in
every process without rebuilding on each payment.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.crypto import field_cipher
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, KassaError, ValidationFailed
from kassa.core.settings import get_settings
from kassa.payments.models import PaymentProviderSettings, ProviderKind, Tender
from kassa.payments.providers import PaymentProvider, ProviderError, SimulatorProvider, build_provider
from kassa.stores import service as stores

WALLET_TENDERS = (Tender.WECHAT_PAY, Tender.ALIPAY)
TENDER_NAMES = {Tender.WECHAT_PAY: "WeChat Pay", Tender.ALIPAY: "Alipay"}
# The real provider of each wallet tender.
REAL_PROVIDER = {Tender.WECHAT_PAY: ProviderKind.WECHAT_PAY, Tender.ALIPAY: ProviderKind.ALIPAY}
NOTIFICATION_PATH = "/api/v1/payments/notifications/{tender}/{store_id}"

# What may be shown back, and what is a secret, per real provider.
PUBLIC_FIELDS: dict[ProviderKind, tuple[str, ...]] = {
    ProviderKind.WECHAT_PAY: (
        "merchant_id",
        "app_id",
        "merchant_certificate_serial",
        "platform_public_key_id",
        "platform_public_key",
        "platform_certificates",
    ),
    ProviderKind.ALIPAY: ("app_id", "alipay_public_key", "is_sandbox"),
    ProviderKind.SIMULATOR: (),
}
SECRET_FIELDS: dict[ProviderKind, tuple[str, ...]] = {
    ProviderKind.WECHAT_PAY: ("merchant_private_key", "api_v3_key"),
    ProviderKind.ALIPAY: ("app_private_key",),
    ProviderKind.SIMULATOR: (),
}
MAX_KEY_TEXT = 20_000

_PATTERNS = {
    (ProviderKind.WECHAT_PAY, "merchant_id"): (r"[0-9]{6,32}", "the merchant id (商户号) is its digits"),
    (ProviderKind.WECHAT_PAY, "app_id"): (r"wx[0-9A-Za-z]{16}", "an app id starts with wx, 18 characters"),
    (ProviderKind.WECHAT_PAY, "merchant_certificate_serial"): (
        r"[0-9A-Fa-f]{8,64}",
        "the certificate serial number is hexadecimal",
    ),
    (ProviderKind.WECHAT_PAY, "platform_public_key_id"): (
        r"PUB_KEY_ID_[0-9A-Za-z_]{1,80}",
        "the public key id starts with PUB_KEY_ID_",
    ),
    (ProviderKind.ALIPAY, "app_id"): (r"[0-9]{10,32}", "the Alipay app id (APPID) is its digits"),
}


class PaymentProviderNotConfigured(KassaError):
    """The store has not chosen who takes this wallet tender: it is refused, not simulated."""

    status = 409
    code = "payment_provider_not_configured"
    title = "Payment provider not set up"


class ProviderGateways(BaseSettings):
    """Where the real providers are reached. Production by default (Alipay's sandbox when the
    store chose it); ``KASSA_WECHAT_PAY_GATEWAY_URL`` / ``KASSA_ALIPAY_GATEWAY_URL`` send
    every store's calls elsewhere (an egress proxy; the tests' local fakes)."""

    model_config = SettingsConfigDict(env_prefix="KASSA_", extra="ignore")

    wechat_pay_gateway_url: str | None = None
    alipay_gateway_url: str | None = None
    payment_provider_timeout_seconds: float = 15.0


@dataclass(frozen=True)
class ProviderSettingsChange:
    """A new choice for one tender. ``secrets`` holds only the secrets being set; a secret
    left out keeps its stored value (so an owner can change an id without pasting keys)."""

    provider: ProviderKind
    settings: Mapping[str, str | bool | None] = field(default_factory=dict)
    secrets: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSettingsView:
    """What a screen may show of one tender's choice: never a secret, only whether it is set."""

    store_id: int
    tender: Tender
    provider: ProviderKind | None
    settings: dict[str, Any]
    secrets_set: list[str]
    notification_url: str
    updated_at: datetime | None

    @property
    def is_set_up(self) -> bool:
        return self.provider is not None


def notification_url(store_id: int, tender: Tender) -> str:
    """The address to register with the provider: it names the store, so a notification is
    verified with that store's credentials before anything in it is read."""
    path = NOTIFICATION_PATH.format(tender=tender.value, store_id=store_id)
    return get_settings().base_url + path


def _secret_context(store_id: int, tender: Tender) -> str:
    return f"payment_provider_settings:{store_id}:{tender.value}"


def _wallet_tender(tender: Tender) -> Tender:
    if tender not in WALLET_TENDERS:
        raise ValidationFailed("providers are chosen for WeChat Pay and Alipay", field="tender")
    return tender


async def _row(session: AsyncSession, store_id: int, tender: Tender) -> PaymentProviderSettings | None:
    return await session.scalar(
        select(PaymentProviderSettings).where(
            PaymentProviderSettings.store_id == store_id, PaymentProviderSettings.tender == tender
        )
    )


def _view(store_id: int, tender: Tender, row: PaymentProviderSettings | None) -> ProviderSettingsView:
    if row is None:
        return ProviderSettingsView(store_id, tender, None, {}, [], notification_url(store_id, tender), None)
    public = {name: row.settings[name] for name in PUBLIC_FIELDS[row.provider] if name in row.settings}
    return ProviderSettingsView(
        store_id,
        tender,
        row.provider,
        public,
        list(row.secret_names),
        notification_url(store_id, tender),
        row.updated_at,
    )


async def provider_settings_of(
    session: AsyncSession, actor: Actor, store_id: int
) -> list[ProviderSettingsView]:
    """Both wallet tenders of a store as the owner may see them (secrets as "set" only)."""
    actor.require(Permission.SETTINGS_MANAGE)
    store = await stores.get_store(session, actor, store_id)
    return [_view(store.id, tender, await _row(session, store.id, tender)) for tender in WALLET_TENDERS]


async def update_provider_settings(
    session: AsyncSession, actor: Actor, store_id: int, tender: Tender, change: ProviderSettingsChange
) -> ProviderSettingsView:
    """Choose the simulator or the real provider for a wallet tender of a store (owner only).

    The real provider's settings are checked (ids, keys that parse, a platform certificate
    valid today) and the provider is built once before anything is stored, so a store never
    switches to credentials that cannot work. Secrets not given keep their stored value.
    """
    actor.require(Permission.SETTINGS_MANAGE)
    store = await stores.get_store(session, actor, store_id)
    tender = _wallet_tender(tender)
    if change.provider not in (ProviderKind.SIMULATOR, REAL_PROVIDER[tender]):
        raise ValidationFailed(
            f"{TENDER_NAMES[tender]} is taken by the simulator or by {TENDER_NAMES[tender]} itself",
            field="provider",
        )
    row = await _row(session, store.id, tender)
    context = _secret_context(store.id, tender)
    unknown = (set(change.settings) - set(PUBLIC_FIELDS[change.provider])) | (
        set(change.secrets) - set(SECRET_FIELDS[change.provider])
    )
    if unknown:
        raise ValidationFailed(
            f"{change.provider.value} has no setting {sorted(unknown)[0]}", field=sorted(unknown)[0]
        )
    public = _checked_public_settings(change.provider, change.settings)
    kept: dict[str, str] = {}
    if row is not None and row.provider == change.provider and row.encrypted_secrets:
        kept = json.loads(field_cipher().decrypt(row.encrypted_secrets, context=context))
    given = {name: value.strip() for name, value in change.secrets.items() if value and value.strip()}
    secret_values = {**kept, **given}
    _check_secrets(change.provider, secret_values)
    if change.provider is not ProviderKind.SIMULATOR:
        _try_building(store.id, tender, change.provider, public, secret_values)
    before = (
        None if row is None else {"provider": row.provider.value, "settings": _public_audit(row.settings)}
    )
    settings_changed = sorted(
        name
        for name in set(public) | set(row.settings if row else {})
        if public.get(name) != (row.settings if row else {}).get(name)
    )
    if row is None:
        row = PaymentProviderSettings(store_id=store.id, tender=tender)
        session.add(row)
    row.provider = change.provider
    row.settings = public
    row.encrypted_secrets = (
        field_cipher().encrypt(json.dumps(secret_values, sort_keys=True), context=context)
        if secret_values
        else None
    )
    row.secret_names = sorted(secret_values)
    row.revision = secrets.token_hex(16)
    row.updated_by_staff_id = actor.staff_id
    row.updated_at = utc_now()
    await session.flush()
    audit.record(
        session,
        actor,
        "payment_provider.update",
        "store",
        store.id,
        store_id=store.id,
        before=before,
        after={
            "tender": tender.value,
            "provider": change.provider.value,
            "settings": _public_audit(public),
            "settings_changed": settings_changed,
            # Which secrets were set anew, never their values.
            "secrets_changed": sorted(given),
        },
    )
    return _view(store.id, tender, row)


async def remove_provider_settings(
    session: AsyncSession, actor: Actor, store_id: int, tender: Tender
) -> None:
    """The store stops taking this tender (its secrets are deleted with the row)."""
    actor.require(Permission.SETTINGS_MANAGE)
    store = await stores.get_store(session, actor, store_id)
    tender = _wallet_tender(tender)
    row = await _row(session, store.id, tender)
    if row is None:
        return
    await session.delete(row)
    await session.flush()
    audit.record(
        session,
        actor,
        "payment_provider.remove",
        "store",
        store.id,
        store_id=store.id,
        before={"tender": tender.value, "provider": row.provider.value},
    )


def _public_audit(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Public settings for the audit trail: ids as they are, long key texts by length only."""
    return {
        name: (f"<{len(value)} characters>" if isinstance(value, str) and len(value) > 80 else value)
        for name, value in settings.items()
    }


def _checked_public_settings(
    provider: ProviderKind, settings: Mapping[str, str | bool | None]
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for name in PUBLIC_FIELDS[provider]:
        value = settings.get(name)
        if name == "is_sandbox":
            checked[name] = bool(value)
            continue
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            continue
        if len(text) > MAX_KEY_TEXT:
            raise ValidationFailed("this is too long for a key or an id", field=name)
        pattern = _PATTERNS.get((provider, name))
        if pattern is not None and not re.fullmatch(pattern[0], text):
            raise ValidationFailed(pattern[1], field=name)
        checked[name] = text.upper() if name == "merchant_certificate_serial" else text
    if provider is ProviderKind.WECHAT_PAY:
        for name in ("merchant_id", "app_id", "merchant_certificate_serial"):
            if name not in checked:
                raise ValidationFailed("this is required", field=name)
        has_public_key = "platform_public_key" in checked or "platform_public_key_id" in checked
        if has_public_key:
            for name in ("platform_public_key", "platform_public_key_id"):
                if name not in checked:
                    raise ValidationFailed("give the WeChat Pay public key and its id together", field=name)
            _check_public_key(checked["platform_public_key"], "platform_public_key")
            checked.pop("platform_certificates", None)
        elif "platform_certificates" not in checked:
            raise ValidationFailed(
                "give the WeChat Pay public key and its id, or the platform certificates",
                field="platform_public_key",
            )
        else:
            from kassa.payments.providers.wechat_pay import usable_platform_certificates

            try:
                usable_platform_certificates(checked["platform_certificates"])
            except ProviderError as error:
                raise ValidationFailed(error.message, field="platform_certificates") from None
    if provider is ProviderKind.ALIPAY:
        for name in ("app_id", "alipay_public_key"):
            if name not in checked:
                raise ValidationFailed("this is required", field=name)
        _check_public_key(_pem(checked["alipay_public_key"], "PUBLIC KEY"), "alipay_public_key")
    return checked


def _check_secrets(provider: ProviderKind, values: Mapping[str, str]) -> None:
    for name in SECRET_FIELDS[provider]:
        value = values.get(name)
        if not value:
            raise ValidationFailed("this secret is not set yet", field=name)
        if len(value) > MAX_KEY_TEXT:
            raise ValidationFailed("this is too long for a key", field=name)
    if provider is ProviderKind.WECHAT_PAY:
        if len(values["api_v3_key"].encode()) != 32:
            raise ValidationFailed("the APIv3 key is 32 characters", field="api_v3_key")
        _check_private_key(values["merchant_private_key"], "merchant_private_key")
    if provider is ProviderKind.ALIPAY:
        _check_private_key(_pem(values["app_private_key"], "PRIVATE KEY"), "app_private_key")


def _pem(key: str, label: str) -> str:
    """Alipay's console shows keys as bare base64; wrap them as PEM to check them."""
    key = key.strip()
    if key.startswith("-----BEGIN"):
        return key
    body = "".join(key.split())
    lines = [body[start : start + 64] for start in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def _check_public_key(pem: str, field_name: str) -> None:
    try:
        load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        # The parser's message is not repeated: it is about the key's bytes.
        raise ValidationFailed("this is not a PEM public key", field=field_name) from None


def _check_private_key(pem: str, field_name: str) -> None:
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValidationFailed("this is not an unencrypted PEM private key", field=field_name) from None
    except Exception:  # e.g. an unsupported key type: still the field's fault
        raise ValidationFailed("this private key cannot be used", field=field_name) from None


def _try_building(
    store_id: int,
    tender: Tender,
    provider: ProviderKind,
    public: Mapping[str, Any],
    secret_values: Mapping[str, str],
) -> None:
    try:
        _build(store_id, tender, provider, public, secret_values)
    except ProviderError as error:
        raise ValidationFailed(f"these settings do not work: {error.message}", field="provider") from None


# --- the hot path -------------------------------------------------------------------------

_built: dict[tuple[int, Tender], tuple[str, PaymentProvider]] = {}
_replacements: dict[tuple[int, Tender], PaymentProvider] = {}


async def provider_for(session: AsyncSession, store_id: int, tender: Tender) -> PaymentProvider:
    """The provider that takes ``tender`` in the store, as its owner chose it; built once per
    revision of the settings. Raises :class:`PaymentProviderNotConfigured` (409) when the
    store chose none. ``store_id`` comes from a row the caller already scoped."""
    _wallet_tender(tender)
    row = await _row(session, store_id, tender)
    if row is None:
        raise PaymentProviderNotConfigured(
            f"{TENDER_NAMES[tender]} is not set up for this store",
            field="tender",
            extra={"tender": tender.value, "store_id": store_id},
        )
    key = (store_id, tender)
    replacement = _replacements.get(key)
    if replacement is not None:
        return replacement
    cached = _built.get(key)
    if cached is not None and cached[0] == row.revision:
        return cached[1]
    secret_values: dict[str, str] = {}
    if row.encrypted_secrets:
        secret_values = json.loads(
            field_cipher().decrypt(row.encrypted_secrets, context=_secret_context(store_id, tender))
        )
    provider = _build(store_id, tender, row.provider, row.settings, secret_values)
    _built[key] = (row.revision, provider)
    return provider


def _build(
    store_id: int,
    tender: Tender,
    kind: ProviderKind,
    public: Mapping[str, Any],
    secret_values: Mapping[str, str],
) -> PaymentProvider:
    if kind is ProviderKind.SIMULATOR:
        return SimulatorProvider(
            name=f"simulator-{tender.value}",
            notification_secret=get_settings().resolved_payment_simulator_key(),
        )
    gateways = ProviderGateways()
    config: dict[str, str] = {
        name: ("true" if value is True else "false" if value is False else str(value))
        for name, value in public.items()
    }
    config.update(secret_values)
    config["notify_url"] = notification_url(store_id, tender)
    config["timeout_seconds"] = str(gateways.payment_provider_timeout_seconds)
    if kind is ProviderKind.WECHAT_PAY:
        # WeChat's scene_info names the store by the merchant's own code: Kassa's store id.
        config["store_id"] = str(store_id)
        if gateways.wechat_pay_gateway_url:
            config["gateway_url"] = gateways.wechat_pay_gateway_url
    elif gateways.alipay_gateway_url:
        config["gateway_url"] = gateways.alipay_gateway_url
    return build_provider(kind.value, config)


def replace_provider(store_id: int, tender: Tender, provider: PaymentProvider | None) -> None:
    """Use ``provider`` for the store's tender instead of the one its settings build (tests
    that need a provider misbehaving); the store must still have chosen one. None undoes it."""
    if provider is None:
        _replacements.pop((store_id, tender), None)
    else:
        _replacements[(store_id, tender)] = provider


def forget_built_providers() -> None:
    """Drop every built provider and replacement (tests; a process that rotated keys)."""
    _built.clear()
    _replacements.clear()


def check_not_changed_since(payment_provider: str | None, provider: PaymentProvider, what: str) -> None:
    """A payment is refunded or cancelled only through the provider that took it: after the
    store switched providers, its money is given back by hand."""
    if payment_provider is not None and payment_provider != provider.name:
        raise Conflict(
            f"{what} was taken through {payment_provider}; the store now uses {provider.name}, "
            "so give the money back by hand",
            field="provider",
        )
