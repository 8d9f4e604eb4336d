"""A store's return settings and their defaults."""

from __future__ import annotations

from typing import Any

from kassa.returns.models import ConfirmationMode, ReturnSettings, TimeoutAction

DEFAULT_REASONS: list[dict[str, Any]] = [
    {"code": "wrong_dish", "names": {"zh_CN": "上错菜", "en": "Wrong dish"}},
    {"code": "quality", "names": {"zh_CN": "菜品质量", "en": "Quality"}},
    {"code": "too_slow", "names": {"zh_CN": "上菜太慢", "en": "Too slow"}},
    {"code": "changed_mind", "names": {"zh_CN": "顾客不想要了", "en": "Customer changed mind"}},
    {"code": "foreign_object", "names": {"zh_CN": "有异物", "en": "Foreign object"}},
    {"code": "other", "names": {"zh_CN": "其他", "en": "Other"}},
]
DEFAULT_CONFIRM_WORDS: dict[str, Any] = {"zh_CN": ["1", "是", "确认", "Y"], "en": ["1", "Y", "YES", "OK"]}
DEFAULT_DISPUTE_WORDS: dict[str, Any] = {"zh_CN": ["2", "否", "有异议", "N"], "en": ["2", "N", "NO"]}
DEFAULT_ARRIVAL_TIMES: dict[str, Any] = {
    "cash": {"zh_CN": "现金当场退还", "en": "cash, now"},
    "card": {"zh_CN": "银行卡3–7个工作日", "en": "card, 3–7 working days"},
    "wechat_pay": {"zh_CN": "微信支付1–3天", "en": "WeChat Pay, 1–3 days"},
    "alipay": {"zh_CN": "支付宝1–3天", "en": "Alipay, 1–3 days"},
    "stored_value": {"zh_CN": "储值卡即时到账", "en": "stored value, at once"},
    "points": {"zh_CN": "积分即时退回", "en": "points, at once"},
}


def default_settings(store_id: int) -> ReturnSettings:
    return ReturnSettings(
        store_id=store_id,
        reasons=[dict(reason) for reason in DEFAULT_REASONS],
        manager_threshold_amount=10_000,
        confirmation_mode=ConfirmationMode.BEFORE_REFUND,
        confirmation_timeout_minutes=60,
        timeout_action=TimeoutAction.AUTO_CONFIRM,
        confirm_words=dict(DEFAULT_CONFIRM_WORDS),
        dispute_words=dict(DEFAULT_DISPUTE_WORDS),
        arrival_times=dict(DEFAULT_ARRIVAL_TIMES),
    )


def reason_name(settings: ReturnSettings, code: str, locale: str) -> str:
    for reason in settings.reasons:
        if reason.get("code") == code:
            names = reason.get("names") or {}
            return str(names.get(locale) or names.get("en") or code)
    return code


def arrival_text(settings: ReturnSettings, tender: str, locale: str) -> str:
    texts = settings.arrival_times.get(tender) or DEFAULT_ARRIVAL_TIMES.get(tender) or {}
    return str(texts.get(locale) or texts.get("en") or tender)


def words(mapping: dict[str, Any]) -> set[str]:
    """Every reply word of every language, upper-cased: a customer may answer in either."""
    return {str(word).strip().upper() for values in mapping.values() for word in values}
