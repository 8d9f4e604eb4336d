"""The built-in message texts per event and language, their variables, and rendering.

A text names its variables in braces: ``{store_name}``. An organization may replace any
text (``MessageTemplate``); a replacement may only use the event's variables, so a message
never goes out with a hole in it.

Providers that send registered templates by position (Tencent Cloud: ``{1}``, ``{2}``, ...)
get the variables in a stated order, the *numbered parameters* of the template; unless an
organization states its own, that is the order the text uses them in, leaving out the
leading sign ``【{store_name}】`` (the provider adds its registered sign name itself).

A *secret* variable (the one-time code) is in a message's text only on its way to the
provider: the message log keeps it as ``MASK``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kassa.core.errors import ValidationFailed
from kassa.notifications.providers.segments import SegmentCount, count_segments

SMS = "sms"
EMAIL = "email"
LANGUAGES = ("zh_CN", "en")
# What the message log shows instead of a secret variable.
MASK = "••••••"
# Tencent Cloud templates take at most a handful of parameters; more is a mistake.
MAX_NUMBERED_PARAMETERS = 20
NUMBERED_FIELD = "numbered_parameters"


@dataclass(frozen=True)
class EventSpec:
    name: str
    description: str
    variables: Mapping[str, str]  # variable -> sample value for previews
    bodies: Mapping[str, str]  # language -> built-in text
    subjects: Mapping[str, str] | None = None  # e-mail subject per language
    # Variables that must never be readable afterwards (kept masked in the message log).
    secret_variables: frozenset[str] = frozenset()


EVENTS: dict[str, EventSpec] = {
    spec.name: spec
    for spec in (
        EventSpec(
            "return_notice",
            "A returned dish: what, why, the refund and how to confirm",
            {
                "store_name": "甜心咖啡",
                "items": "拿铁 x1",
                "reason": "菜品质量",
                "refund_amount": "¥28.00",
                "arrival": "现金 当场退还",
                "code": "4821",
                "confirm_word": "1",
                "dispute_word": "2",
            },
            {
                "zh_CN": "【{store_name}】您退回的{items}（{reason}）将退款{refund_amount}，"
                "到账时间：{arrival}。"
                "确认请回复{confirm_word} {code}，有异议请回复{dispute_word} {code}。",
                "en": "{store_name}: your return of {items} ({reason}) "
                "will be refunded {refund_amount}; "
                "arrives: {arrival}. Reply {confirm_word} {code} to confirm, "
                "{dispute_word} {code} to dispute.",
            },
        ),
        EventSpec(
            "refund_done",
            "A refund was paid out",
            {"store_name": "甜心咖啡", "refund_amount": "¥28.00", "arrival": "微信支付 1–3天"},
            {
                "zh_CN": "【{store_name}】退款{refund_amount}已办理，到账时间：{arrival}。",
                "en": "{store_name}: your refund of {refund_amount} is on its way; arrives: {arrival}.",
            },
        ),
        EventSpec(
            "verification_code",
            "A one-time code",
            {"store_name": "甜心咖啡", "code": "123456", "minutes": "5"},
            {
                "zh_CN": "【{store_name}】验证码{code}，{minutes}分钟内有效，请勿告诉他人。",
                "en": "{store_name}: your code is {code}, valid for {minutes} minutes. Do not share it.",
            },
            {"zh_CN": "验证码", "en": "Your verification code"},
            secret_variables=frozenset({"code"}),
        ),
        EventSpec(
            "order_ready",
            "An order is ready for pickup",
            {"store_name": "甜心咖啡", "pickup_code": "A12"},
            {
                "zh_CN": "【{store_name}】您的订单{pickup_code}已备好，请到柜台取餐。",
                "en": "{store_name}: order {pickup_code} is ready at the counter.",
            },
        ),
        EventSpec(
            "reservation_confirmation",
            "A table reservation was made",
            {
                "store_name": "甜心咖啡",
                "name": "王女士",
                "time": "12月1日 19:00",
                "party_size": "4",
                "code": "4821",
            },
            {
                "zh_CN": "【{store_name}】{name}，您已预订{time}，{party_size}位。"
                "回复1 {code}确认，回复2 {code}取消。",
                "en": "{store_name}: {name}, your table for {party_size} is booked for {time}. "
                "Reply 1 {code} to confirm, 2 {code} to cancel.",
            },
        ),
        EventSpec(
            "reservation_reminder",
            "A reminder before a reservation",
            {"store_name": "甜心咖啡", "name": "王女士", "time": "19:00", "party_size": "4"},
            {
                "zh_CN": "【{store_name}】{name}，提醒您今天{time}的{party_size}位预订，期待光临。",
                "en": "{store_name}: {name}, a reminder of your table for {party_size} today at {time}.",
            },
        ),
        EventSpec(
            "birthday_coupon",
            "A birthday coupon for a member",
            {"store_name": "甜心咖啡", "name": "王女士", "coupon": "生日券 ¥20", "valid_until": "12月31日"},
            {
                "zh_CN": "【{store_name}】{name}生日快乐！送您{coupon}，{valid_until}前有效。回复TD退订",
                "en": "{store_name}: happy birthday, {name}! Here is {coupon}, valid until {valid_until}. "
                "Reply STOP to opt out",
            },
        ),
        EventSpec(
            "tier_change",
            "A member's tier went up or down",
            {"store_name": "甜心咖啡", "name": "王女士", "tier": "金卡会员"},
            {
                "zh_CN": "【{store_name}】{name}，您的会员等级已变更为{tier}，感谢您的支持！回复TD退订",
                "en": "{store_name}: {name}, your membership level is now {tier}. Thank you! "
                "Reply STOP to opt out",
            },
        ),
        EventSpec(
            "free_text",
            "A message typed by staff",
            {"store_name": "甜心咖啡", "text": "您的外卖已出发。"},
            {"zh_CN": "【{store_name}】{text}", "en": "{store_name}: {text}"},
        ),
    )
}


def event_spec(event: str) -> EventSpec:
    spec = EVENTS.get(event)
    if spec is None:
        raise ValidationFailed(f"no message event {event!r}", field="event")
    return spec


def placeholders(text: str) -> list[str]:
    """The variable names a text uses, in order; a malformed brace is a validation error."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ValidationFailed(f"the text has a stray brace: {error}", field="body") from error
    names: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValidationFailed(f"write variables as {{name}}, not {{{name}}}", field="body")
        names.append(name)
    return names


def check_text(event: str, text: str, field: str = "body") -> None:
    spec = event_spec(event)
    if not text.strip():
        raise ValidationFailed("the text is empty", field=field)
    unknown = [name for name in placeholders(text) if name not in spec.variables]
    if unknown:
        raise ValidationFailed(
            f"unknown variable {{{unknown[0]}}}; this message knows {', '.join(sorted(spec.variables))}",
            field=field,
        )


def default_numbered_parameters(text: str) -> list[str]:
    """The variables in the order ``text`` first uses them, without a leading sign
    ``【{store_name}】``: the numbered parameters of a provider template registered from it."""
    names = placeholders(text)
    if text.lstrip().startswith("【{store_name}】") and names and names[0] == "store_name":
        names = names[1:]
    return list(dict.fromkeys(names))


def check_numbered_parameters(event: str, names: Sequence[str], field: str = NUMBERED_FIELD) -> None:
    """Each numbered parameter names one of the event's variables."""
    spec = event_spec(event)
    if len(names) > MAX_NUMBERED_PARAMETERS:
        raise ValidationFailed(f"at most {MAX_NUMBERED_PARAMETERS} numbered parameters", field=field)
    for number, name in enumerate(names, start=1):
        if name not in spec.variables:
            raise ValidationFailed(
                f"parameter {{{number}}}: unknown variable {name!r}; "
                f"this message knows {', '.join(sorted(spec.variables))}",
                field=field,
            )


def numbered_values(names: Sequence[str], variables: Mapping[str, str]) -> tuple[str, ...]:
    """The values of the numbered parameters {1}, {2}, ... (a variable with no value: empty)."""
    return tuple(str(variables.get(name, "")) for name in names)


def masked(event: str, variables: Mapping[str, str]) -> dict[str, str]:
    """``variables`` with the event's secret ones replaced by ``MASK``."""
    secret = event_spec(event).secret_variables
    return {name: MASK if name in secret else value for name, value in variables.items()}


def render(text: str, variables: Mapping[str, str]) -> str:
    """Fill in the variables; one that is missing is left visible rather than crashing a send."""
    return string.Formatter().vformat(text, (), _Lenient(variables))


class _Lenient(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class NumberedParameter:
    number: int  # {1}, {2}, ...
    variable: str
    value: str


@dataclass(frozen=True)
class Preview:
    text: str
    segments: SegmentCount
    numbered: tuple[NumberedParameter, ...]


def preview(
    event: str,
    text: str,
    variables: Mapping[str, str] | None = None,
    numbered_parameters: Sequence[str] | None = None,
) -> Preview:
    """The text filled in with sample data (or ``variables``), its length in SMS parts, and
    what each numbered parameter receives (``numbered_parameters``, else the text's order)."""
    check_text(event, text)
    names = default_numbered_parameters(text) if numbered_parameters is None else list(numbered_parameters)
    check_numbered_parameters(event, names)
    values = dict(event_spec(event).variables)
    values.update(variables or {})
    rendered = render(text, values)
    numbered = tuple(
        NumberedParameter(number, name, value)
        for number, (name, value) in enumerate(zip(names, numbered_values(names, values), strict=True), 1)
    )
    return Preview(rendered, count_segments(rendered), numbered)
