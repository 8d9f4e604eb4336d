"""Payment providers behind one interface (:class:`PaymentProvider`); the simulator is the
default, WeChat Pay and Alipay are the real ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kassa.payments.providers.base import (
    ChargeNotFound,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    InvalidSignature,
    MalformedNotification,
    PaymentNotification,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
)
from kassa.payments.providers.simulator import SimulatorProvider

if TYPE_CHECKING:
    from kassa.payments.providers.alipay import AlipayProvider
    from kassa.payments.providers.wechat_pay import WeChatPayProvider

PROVIDER_NAMES = ("simulator", "wechat_pay", "alipay")

__all__ = [
    "PROVIDER_NAMES",
    "AlipayProvider",
    "ChargeNotFound",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "InvalidSignature",
    "MalformedNotification",
    "PaymentNotification",
    "PaymentProvider",
    "ProviderError",
    "ProviderUnavailable",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "SimulatorProvider",
    "WeChatPayProvider",
    "build_provider",
]


def __getattr__(name: str) -> object:
    """The real providers load their SDKs (about a third of a second each) only when used, so
    the offline default starts quickly."""
    if name == "WeChatPayProvider":
        from kassa.payments.providers.wechat_pay import WeChatPayProvider

        return WeChatPayProvider
    if name == "AlipayProvider":
        from kassa.payments.providers.alipay import AlipayProvider

        return AlipayProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_provider(name: str, config: Mapping[str, str]) -> PaymentProvider:
    """The provider called ``name`` ("simulator", "wechat_pay" or "alipay"), configured from
    string settings (see each provider's ``from_config``); an unknown name is a ValueError."""
    if name == "simulator":
        # No key configured: a random one, which only this instance knows.
        secret = config.get("notification_secret") or None
        return SimulatorProvider(name=config.get("name") or "simulator", notification_secret=secret)
    if name == "wechat_pay":
        from kassa.payments.providers.wechat_pay import WeChatPayProvider

        return WeChatPayProvider.from_config(config)
    if name == "alipay":
        from kassa.payments.providers.alipay import AlipayProvider

        return AlipayProvider.from_config(config)
    raise ValueError(f"unknown payment provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}")
