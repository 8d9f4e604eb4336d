from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kassa.core.schemas import Id, Line, PositiveAmount, Quantity, RequestModel, Text, Version
from kassa.orders.models import OrderType
from kassa.payments.models import ProviderKind, Tender


class PaymentIn(RequestModel):
    version: Version = Field(ge=1, description="The bill version you saw")
    tender: Tender
    amount: PositiveAmount | None = Field(default=None, description="Default: all that is due (or the share)")
    split_share_index: int | None = Field(default=None, ge=0, le=49)
    tendered_amount: PositiveAmount | None = Field(default=None, description="Cash handed over")
    approval_code: Line | None = Field(default=None, max_length=40, description="Card terminal approval code")
    payment_code: Line | None = Field(
        default=None,
        max_length=32,
        description="WeChat Pay / Alipay: the customer's code; omit for a QR code",
    )
    close_when_paid: bool = True


class PaymentVoid(RequestModel):
    version: Version = Field(ge=1)
    reason: Line = Field(min_length=1, max_length=200)


class SaleLineIn(RequestModel):
    product_id: Id
    quantity: Quantity = 1
    modifier_option_ids: list[Id] = Field(default_factory=list, max_length=50)
    note: Text = Field(default="", max_length=300)


class SaleTenderIn(RequestModel):
    tender: Tender
    amount: PositiveAmount | None = None
    tendered_amount: PositiveAmount | None = None
    approval_code: Line | None = Field(default=None, max_length=40)


class SaleIn(RequestModel):
    """A whole counter sale: lines and the tenders that pay it (the last takes what is due)."""

    order_type: OrderType = OrderType.TAKEAWAY
    lines: list[SaleLineIn] = Field(min_length=1, max_length=200)
    tenders: list[SaleTenderIn] = Field(min_length=1, max_length=10)


# --- payment provider settings ------------------------------------------------------------

_KEY_TEXT = 20_000


class SimulatorSettingsIn(RequestModel):
    """The built-in simulator takes the tender (demo and training; no money moves)."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["simulator"]


class WeChatPaySettingsIn(RequestModel):
    """WeChat Pay API v3 for a directly connected merchant. Give the WeChat Pay public key
    and its id, or the platform certificates. A secret left out keeps its stored value."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["wechat_pay"]
    merchant_id: Line = Field(min_length=1, max_length=32, description="商户号 (mchid)")
    app_id: Line = Field(min_length=1, max_length=32, description="The AppID bound to the merchant")
    merchant_certificate_serial: Line = Field(
        min_length=1, max_length=64, description="Serial number of the merchant API certificate"
    )
    platform_public_key_id: Line | None = Field(default=None, max_length=100, description="PUB_KEY_ID_…")
    platform_public_key: Text | None = Field(default=None, max_length=_KEY_TEXT, description="PEM")
    platform_certificates: Text | None = Field(
        default=None, max_length=_KEY_TEXT, description="PEM, one or more platform certificates"
    )
    merchant_private_key: SecretStr | None = Field(
        default=None, max_length=_KEY_TEXT, description="apiclient_key.pem; write-only"
    )
    api_v3_key: SecretStr | None = Field(default=None, max_length=64, description="32 characters; write-only")


class AlipaySettingsIn(RequestModel):
    """Alipay face-to-face payment with RSA2 keys (public-key mode). A secret left out keeps
    its stored value."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["alipay"]
    app_id: Line = Field(min_length=1, max_length=32, description="APPID")
    alipay_public_key: Text = Field(
        min_length=1, max_length=_KEY_TEXT, description="支付宝公钥, base64 or PEM"
    )
    is_sandbox: bool = Field(default=False, description="Alipay's sandbox instead of production")
    app_private_key: SecretStr | None = Field(
        default=None, max_length=_KEY_TEXT, description="应用私钥, base64 or PEM; write-only"
    )


PaymentProviderSettingsIn = Annotated[
    SimulatorSettingsIn | WeChatPaySettingsIn | AlipaySettingsIn, Field(discriminator="provider")
]


class PaymentProviderOut(BaseModel):
    """One wallet tender of a store. Secrets are never shown: ``secrets_set`` names the ones
    stored."""

    tender: Tender
    provider: ProviderKind | None = Field(description="None: not set up, the store refuses the tender")
    is_set_up: bool
    settings: dict[str, str | bool]
    secrets_set: list[str]
    notification_url: str = Field(description="Register this address with the provider")
    updated_at: datetime | None
