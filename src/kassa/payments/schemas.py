from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kassa.orders.models import OrderType
from kassa.payments.models import ProviderKind, Tender


class PaymentIn(BaseModel):
    version: int = Field(ge=1, description="The bill version you saw")
    tender: Tender
    amount: int | None = Field(default=None, gt=0, description="Default: all that is due (or the share)")
    split_share_index: int | None = Field(default=None, ge=0)
    tendered_amount: int | None = Field(default=None, gt=0, description="Cash handed over")
    approval_code: str | None = Field(default=None, max_length=40, description="Card terminal approval code")
    payment_code: str | None = Field(
        default=None,
        max_length=32,
        description="WeChat Pay / Alipay: the customer's code; omit for a QR code",
    )
    close_when_paid: bool = True


class PaymentVoid(BaseModel):
    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=200)


class SaleLineIn(BaseModel):
    product_id: int
    quantity: int = Field(default=1, ge=1, le=999)
    modifier_option_ids: list[int] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=300)


class SaleTenderIn(BaseModel):
    tender: Tender
    amount: int | None = Field(default=None, gt=0)
    tendered_amount: int | None = Field(default=None, gt=0)
    approval_code: str | None = Field(default=None, max_length=40)


class SaleIn(BaseModel):
    """A whole counter sale: lines and the tenders that pay it (the last takes what is due)."""

    order_type: OrderType = OrderType.TAKEAWAY
    lines: list[SaleLineIn] = Field(min_length=1, max_length=200)
    tenders: list[SaleTenderIn] = Field(min_length=1, max_length=10)


# --- payment provider settings ------------------------------------------------------------

_KEY_TEXT = 20_000


class SimulatorSettingsIn(BaseModel):
    """The built-in simulator takes the tender (demo and training; no money moves)."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["simulator"]


class WeChatPaySettingsIn(BaseModel):
    """WeChat Pay API v3 for a directly connected merchant. Give the WeChat Pay public key
    and its id, or the platform certificates. A secret left out keeps its stored value."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["wechat_pay"]
    merchant_id: str = Field(min_length=1, max_length=32, description="商户号 (mchid)")
    app_id: str = Field(min_length=1, max_length=32, description="The AppID bound to the merchant")
    merchant_certificate_serial: str = Field(
        min_length=1, max_length=64, description="Serial number of the merchant API certificate"
    )
    platform_public_key_id: str | None = Field(default=None, max_length=100, description="PUB_KEY_ID_…")
    platform_public_key: str | None = Field(default=None, max_length=_KEY_TEXT, description="PEM")
    platform_certificates: str | None = Field(
        default=None, max_length=_KEY_TEXT, description="PEM, one or more platform certificates"
    )
    merchant_private_key: SecretStr | None = Field(
        default=None, max_length=_KEY_TEXT, description="apiclient_key.pem; write-only"
    )
    api_v3_key: SecretStr | None = Field(default=None, max_length=64, description="32 characters; write-only")


class AlipaySettingsIn(BaseModel):
    """Alipay face-to-face payment with RSA2 keys (public-key mode). A secret left out keeps
    its stored value."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["alipay"]
    app_id: str = Field(min_length=1, max_length=32, description="APPID")
    alipay_public_key: str = Field(
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
