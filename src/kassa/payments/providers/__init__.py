"""Payment providers behind one interface (:class:`PaymentProvider`); the simulator is the
default, WeChat Pay and Alipay are the real ones."""

from __future__ import annotations

from collections.abc import Mapping

from kassa.payments.providers.base import (
    ChargeNotFound,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    InvalidSignature,
    PaymentNotification,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
)
from kassa.payments.providers.simulator import SimulatorProvider

PROVIDER_NAMES = ("simulator", "wechat_pay", "alipay")

__all__ = [
    "PROVIDER_NAMES",
    "ChargeNotFound",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "InvalidSignature",
    "PaymentNotification",
    "PaymentProvider",
    "ProviderError",
    "ProviderUnavailable",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "SimulatorProvider",
    "build_provider",
]


def build_provider(name: str, config: Mapping[str, str]) -> PaymentProvider:
    """The provider called ``name`` ("simulator", "wechat_pay" or "alipay"), configured from
    string settings (see each provider's ``from_config``); an unknown name is a ValueError."""
    if name == "simulator":
        return SimulatorProvider(notification_secret=config.get("notification_secret") or "kassa-simulator")
    # The real providers load their SDKs only when chosen, so the offline default stays light.
    if name == "wechat_pay":
        from kassa.payments.providers.wechat_pay import WeChatPayProvider

        return WeChatPayProvider.from_config(config)
    if name == "alipay":
        from kassa.payments.providers.alipay import AlipayProvider

        return AlipayProvider.from_config(config)
    raise ValueError(f"unknown payment provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}")
