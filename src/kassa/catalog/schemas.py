"""The catalog API's shapes. Money travels as integer minor units (``*_amount``) next to a
``currency``; names in other languages as ``name_translations`` by locale."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kassa.catalog.models import ProductKind
from kassa.core.schemas import (
    MINUTES_PER_WEEK,
    Id,
    Line,
    PriceAmount,
    PriceDelta,
    RequestModel,
    SortOrder,
    StockChange,
    StockLevel,
    Translations,
)

CURRENCY = Field(pattern=r"^[A-Z]{3}$", max_length=3, description="ISO 4217, e.g. CNY")
TRANSLATIONS_DESCRIPTION = 'Names in other languages by locale, e.g. {"en": "Latte"}'


class CategoryIn(RequestModel):
    name: Line = Field(min_length=1, max_length=80)
    name_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_DESCRIPTION)
    sort_order: SortOrder = 0
    kitchen_station: Line | None = Field(
        default=None, max_length=40, description='Which kitchen ticket its lines go to: "bar", "kitchen"'
    )


class CategoryUpdate(RequestModel):
    name: Line | None = Field(default=None, min_length=1, max_length=80)
    name_translations: Translations | None = None
    sort_order: SortOrder | None = None
    kitchen_station: Line | None = Field(default=None, max_length=40)


class CategoryOut(BaseModel):
    id: int
    name: str
    name_translations: dict[str, str]
    sort_order: int
    kitchen_station: str | None


class ProductIn(RequestModel):
    category_id: Id
    name: Line = Field(min_length=1, max_length=120)
    name_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_DESCRIPTION)
    sku: Line = Field(min_length=1, max_length=40)
    barcode: Line | None = Field(default=None, max_length=64)
    price_amount: PriceAmount = Field(description="Minor units: 1800 is 18.00")
    currency: Line = CURRENCY
    vat_rate_code: Line = Field(min_length=1, max_length=20)
    unit: Line = Field(default="piece", min_length=1, max_length=20, description="cup, piece, kg …")
    image_url: Line = Field(default="", max_length=500)
    kind: ProductKind = ProductKind.STANDARD
    duration_minutes: int | None = Field(default=None, ge=1, le=MINUTES_PER_WEEK, description="Services only")
    min_price_amount: PriceAmount | None = Field(default=None, description="Open-price products only")
    max_price_amount: PriceAmount | None = Field(default=None, description="Open-price products only")
    sort_order: SortOrder = 0
    is_active: bool = True
    modifier_group_ids: list[Id] | None = Field(default=None, description="Offered groups, in order")


class ProductUpdate(RequestModel):
    """Only the fields sent change; ``null`` clears the optional ones."""

    category_id: Id | None = None
    name: Line | None = Field(default=None, min_length=1, max_length=120)
    name_translations: Translations | None = None
    sku: Line | None = Field(default=None, min_length=1, max_length=40)
    barcode: Line | None = Field(default=None, max_length=64)
    price_amount: PriceAmount | None = None
    currency: Line | None = Field(default=None, pattern=r"^[A-Z]{3}$", max_length=3)
    vat_rate_code: Line | None = Field(default=None, min_length=1, max_length=20)
    unit: Line | None = Field(default=None, min_length=1, max_length=20)
    image_url: Line | None = Field(default=None, max_length=500)
    kind: ProductKind | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=MINUTES_PER_WEEK)
    min_price_amount: PriceAmount | None = None
    max_price_amount: PriceAmount | None = None
    sort_order: SortOrder | None = None
    is_active: bool | None = None
    modifier_group_ids: list[Id] | None = None


class ProductOut(BaseModel):
    id: int
    category_id: int
    name: str
    name_translations: dict[str, str]
    sku: str
    barcode: str | None
    price_amount: int
    currency: str
    vat_rate_code: str
    unit: str
    image_url: str
    kind: ProductKind
    duration_minutes: int | None
    min_price_amount: int | None
    max_price_amount: int | None
    sort_order: int
    is_active: bool
    modifier_group_ids: list[int]


class ModifierGroupsIn(RequestModel):
    modifier_group_ids: list[Id]


class ModifierOptionIn(RequestModel):
    name: Line = Field(min_length=1, max_length=80)
    name_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_DESCRIPTION)
    price_delta_amount: PriceDelta = Field(
        default=0, description="Added to the product's price; may be negative"
    )
    currency: Line = CURRENCY
    product_id: Id | None = Field(default=None, description="Combos: the component product this option sells")
    sort_order: SortOrder = 0
    is_active: bool = True


class ModifierOptionUpdate(RequestModel):
    name: Line | None = Field(default=None, min_length=1, max_length=80)
    name_translations: Translations | None = None
    price_delta_amount: PriceDelta | None = None
    currency: Line | None = Field(default=None, pattern=r"^[A-Z]{3}$", max_length=3)
    product_id: Id | None = None
    sort_order: SortOrder | None = None
    is_active: bool | None = None


class ModifierOptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    name: str
    name_translations: dict[str, str]
    price_delta_amount: int
    currency: str
    product_id: int | None
    sort_order: int
    is_active: bool


class ModifierGroupIn(RequestModel):
    name: Line = Field(min_length=1, max_length=80)
    name_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_DESCRIPTION)
    is_required: bool = False
    min_choices: int | None = Field(default=None, ge=0, le=50, description="Default: 1 when required, else 0")
    max_choices: int = Field(default=1, ge=1, le=50)
    is_active: bool = True
    options: list[ModifierOptionIn] = Field(default_factory=list)


class ModifierGroupUpdate(RequestModel):
    name: Line | None = Field(default=None, min_length=1, max_length=80)
    name_translations: Translations | None = None
    is_required: bool | None = None
    min_choices: int | None = Field(default=None, ge=0, le=50)
    max_choices: int | None = Field(default=None, ge=1, le=50)
    is_active: bool | None = None


class ModifierGroupOut(BaseModel):
    id: int
    name: str
    name_translations: dict[str, str]
    is_required: bool
    min_choices: int
    max_choices: int
    is_active: bool
    options: list[ModifierOptionOut]


class StoreProductUpdate(RequestModel):
    """Only the fields sent change; ``price_override_amount: null`` returns to the catalog price."""

    is_available: bool | None = None
    price_override_amount: PriceAmount | None = None
    is_stock_tracked: bool | None = None


class StoreProductOut(BaseModel):
    store_id: int
    product_id: int
    is_available: bool
    price_override_amount: int | None
    currency: str
    is_marked_sold_out: bool
    is_stock_tracked: bool
    stock_quantity: int | None
    is_sold_out: bool


class StockAdjustmentIn(RequestModel):
    delta: StockChange = Field(description="+24 for a delivery, -2 for breakage")
    reason: Line = Field(min_length=1, max_length=200)


class StockCountIn(RequestModel):
    quantity: StockLevel
    reason: Line = Field(default="count", min_length=1, max_length=200)


class StockOut(BaseModel):
    store_id: int
    product_id: int
    quantity: int
    is_sold_out: bool


class SoldOutIn(RequestModel):
    is_sold_out: bool


class MenuOptionOut(BaseModel):
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    price_delta_amount: int
    currency: str
    product_id: int | None
    is_sold_out: bool


class MenuModifierGroupOut(BaseModel):
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    is_required: bool
    min_choices: int
    max_choices: int
    options: list[MenuOptionOut]


class MenuProductOut(BaseModel):
    id: int
    name: str
    display_name: str = Field(description="The name in the requested locale")
    name_translations: dict[str, str]
    sku: str
    barcode: str | None
    kind: ProductKind
    unit: str
    image_url: str
    price_amount: int = Field(description="This store's price: its own, else the catalog price")
    currency: str
    min_price_amount: int | None
    max_price_amount: int | None
    duration_minutes: int | None
    vat_rate_code: str
    is_sold_out: bool
    stock_quantity: int | None = Field(description="null when the store does not count this stock")
    modifier_groups: list[MenuModifierGroupOut]


class MenuCategoryOut(BaseModel):
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    kitchen_station: str | None
    products: list[MenuProductOut]


class StoreMenuOut(BaseModel):
    store_id: int
    currency: str
    locale: str
    categories: list[MenuCategoryOut]


class ImportResultOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    categories_created: int
