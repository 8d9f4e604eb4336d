"""Import and export of the catalog as CSV and XLSX."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import Category, Product, ProductKind
from kassa.catalog.transfer import CatalogFormat, ImportResult, export_catalog, import_catalog, parse_price
from kassa.core.errors import PermissionDenied, ValidationFailed
from kassa.core.money import Money
from tests.catalog.factories import Shop, make_category, make_group, make_product, make_shop

EXPECTED_CSV = (
    "sku,category,name,name.en,barcode,price,currency,vat_rate_code,unit,kind,duration_minutes,"
    "min_price,max_price,image_url,modifier_groups,is_active\r\n"
    "COF-LAT,咖啡,拿铁,Latte,6901234567892,24.00,CNY,standard,cup,standard,,,,"
    "https://img.example/latte.png,Size | Milk,true\r\n"
    "COF-POUR,咖啡,手冲,Pour-over,,32.05,CNY,standard,cup,standard,,,,,Size,true\r\n"
    'OLD-1,咖啡,旧品,"Old, retired",,0.10,CNY,standard,piece,standard,,,,,,false\r\n'
    "SRV-MAS,服务,按摩,Massage,,99.00,CNY,standard,piece,service,45,,,,,true\r\n"
    "OPEN-BULK,服务,散装,,,0.00,CNY,standard,kg,open_price,,1.00,200.00,,,true\r\n"
    "SET-AFT,套餐,下午茶套餐,Afternoon tea set,,38.00,CNY,standard,piece,combo,,,,,Choose a dessert,true\r\n"
)


async def make_groups(session: AsyncSession, shop: Shop) -> dict[str, int]:
    size, _ = await make_group(session, shop.manager, name="Size", options=[("Regular", 0), ("Large", 300)])
    milk, _ = await make_group(session, shop.manager, name="Milk", options=[("Oat", 300)])
    dessert, _ = await make_group(session, shop.manager, name="Choose a dessert", is_required=True)
    return {"Size": size.id, "Milk": milk.id, "Choose a dessert": dessert.id}


async def build_catalog(session: AsyncSession, shop: Shop) -> None:
    groups = await make_groups(session, shop)
    manager = shop.manager
    coffee = await make_category(session, manager, name="咖啡")
    services = await make_category(session, manager, name="服务")
    sets = await make_category(session, manager, name="套餐")
    latte = await catalog.create_product(
        session,
        manager,
        category_id=coffee.id,
        name="拿铁",
        sku="COF-LAT",
        price=Money(2400, "CNY"),
        vat_rate_code="standard",
        translations={"en": "Latte"},
        barcode="6901234567892",
        unit="cup",
        image_url="https://img.example/latte.png",
    )
    pour = await make_product(
        session,
        manager,
        coffee,
        name="手冲",
        sku="COF-POUR",
        price=3205,
        translations={"en": "Pour-over"},
        unit="cup",
    )
    old = await make_product(
        session, manager, coffee, name="旧品", sku="OLD-1", price=10, translations={"en": "Old, retired"}
    )
    await catalog.save_product(
        session,
        manager,
        catalog.ProductInput(**{**catalog.product_input_of(old).__dict__, "is_active": False}),
        product_id=old.id,
    )
    await make_product(
        session, manager, services, name="按摩", sku="SRV-MAS", price=9900, kind=ProductKind.SERVICE,
        duration_minutes=45, translations={"en": "Massage"},
    )  # fmt: skip
    await make_product(
        session, manager, services, name="散装", sku="OPEN-BULK", price=0, kind=ProductKind.OPEN_PRICE,
        min_price=100, max_price=20000, unit="kg",
    )  # fmt: skip
    combo = await make_product(
        session, manager, sets, name="下午茶套餐", sku="SET-AFT", price=3800, kind=ProductKind.COMBO,
        translations={"en": "Afternoon tea set"},
    )  # fmt: skip
    await catalog.set_product_modifier_groups(session, manager, latte.id, [groups["Size"], groups["Milk"]])
    await catalog.set_product_modifier_groups(session, manager, pour.id, [groups["Size"]])
    await catalog.set_product_modifier_groups(session, manager, combo.id, [groups["Choose a dessert"]])


async def product_count(session: AsyncSession, shop: Shop) -> int:
    count = await session.scalar(
        select(func.count(Product.id)).where(Product.organization_id == shop.organization.id)
    )
    return int(count or 0)


async def test_export_writes_one_row_per_product_with_exact_prices(session: AsyncSession, shop: Shop) -> None:
    await build_catalog(session, shop)
    content = await export_catalog(session, shop.manager, CatalogFormat.CSV)
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert content.decode("utf-8-sig") == EXPECTED_CSV


async def test_reimporting_an_export_changes_nothing(session: AsyncSession, shop: Shop) -> None:
    await build_catalog(session, shop)
    for file_format in CatalogFormat:
        content = await export_catalog(session, shop.manager, file_format)
        result = await import_catalog(session, shop.manager, content, file_format)
        assert result == ImportResult(created=0, updated=0, unchanged=6, categories_created=0)


@pytest.mark.parametrize("file_format", list(CatalogFormat))
async def test_a_catalog_moves_to_another_organization_exactly(
    session: AsyncSession, shop: Shop, file_format: CatalogFormat
) -> None:
    # given a catalog exported from one organization
    await build_catalog(session, shop)
    content = await export_catalog(session, shop.manager, file_format)
    # when another organization with the same modifier groups imports it
    other = await make_shop(session)
    await make_groups(session, other)
    result = await import_catalog(session, other.manager, content, file_format)
    # then everything is created and exports identically
    assert result == ImportResult(created=6, updated=0, unchanged=0, categories_created=3)
    assert (await export_catalog(session, other.manager, CatalogFormat.CSV)).decode(
        "utf-8-sig"
    ) == EXPECTED_CSV
    bulk = await session.scalar(
        select(Product).where(Product.organization_id == other.organization.id, Product.sku == "OPEN-BULK")
    )
    assert bulk is not None
    assert (bulk.price_amount, bulk.min_price_amount, bulk.max_price_amount, bulk.kind) == (
        0,
        100,
        20000,
        ProductKind.OPEN_PRICE,
    )


async def test_xlsx_cells_are_text_so_prices_and_barcodes_stay_exact(
    session: AsyncSession, shop: Shop
) -> None:
    await build_catalog(session, shop)
    content = await export_catalog(session, shop.manager, CatalogFormat.XLSX)
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:6] == ("COF-LAT", "咖啡", "拿铁", "Latte", "6901234567892", "24.00")
    assert rows[2][5] == "32.05"


async def test_numbers_typed_into_excel_are_read_exactly(session: AsyncSession, shop: Shop) -> None:
    # given a sheet a person typed: numeric prices and a numeric barcode
    await make_category(session, shop.manager, name="Bakery")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["sku", "category", "name", "barcode", "price", "vat_rate_code"])
    sheet.append(["BRD-1", "Bakery", "Baguette", 6901234567892, 18.5, "standard"])
    sheet.append(["BRD-2", "Bakery", "Croissant", None, 12, "standard"])
    sheet.append(["BRD-3", "Bakery", "Bun", None, 0.1, "standard"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    # when
    result = await import_catalog(session, shop.manager, buffer.getvalue(), CatalogFormat.XLSX)
    # then
    assert result.created == 3
    products = (
        await session.scalars(
            select(Product).where(Product.organization_id == shop.organization.id).order_by(Product.sku)
        )
    ).all()
    assert [(product.sku, product.barcode, product.price_amount) for product in products] == [
        ("BRD-1", "6901234567892", 1850),
        ("BRD-2", None, 1200),
        ("BRD-3", None, 10),
    ]


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("18.00", "CNY", 1800),
        ("18", "CNY", 1800),
        ("18.5", "CNY", 1850),
        ("0.01", "CNY", 1),
        ("1500", "JPY", 1500),
    ],
)
def test_prices_are_parsed_exactly(text: str, currency: str, expected: int) -> None:
    assert parse_price(text, currency) == Money(expected, currency)


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("18.005", "CNY", "CNY has 2 decimals; '18.005' has more"),
        ("15.5", "JPY", "JPY has 0 decimals; '15.5' has more"),
        ("1e3", "CNY", "'1e3' is not an amount like 18.00"),
        ("-1.00", "CNY", "'-1.00' is not an amount like 18.00"),
        ("18,00", "CNY", "'18,00' is not an amount like 18.00"),
    ],
)
def test_prices_that_are_not_exact_amounts_are_refused(text: str, currency: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_price(text, currency)


async def test_a_bad_row_imports_nothing_and_every_problem_names_its_row_and_column(
    session: AsyncSession, shop: Shop
) -> None:
    # given a file with one good row and two bad ones
    await make_category(session, shop.manager, name="Drinks")
    before = await product_count(session, shop)
    content = (
        "sku,category,name,price,vat_rate_code,kind,modifier_groups\n"
        "NEW-1,饮品,Lemonade,12.00,standard,,\n"
        "NEW-2,Drinks,Bad price,12.345,standard,,\n"
        "\n"
        "NEW-3,,No category,abc,luxury,bundle,Nope\n"
    ).encode()
    # when
    with pytest.raises(ValidationFailed) as error:
        await import_catalog(session, shop.manager, content, CatalogFormat.CSV)
    # then (the blank line still counts: row numbers are the spreadsheet's)
    assert error.value.extra["problems"] == [
        {"row": 3, "column": "price", "reason": "CNY has 2 decimals; '12.345' has more"},
        {"row": 5, "column": "category", "reason": "a category name is needed"},
        {"row": 5, "column": "kind", "reason": "one of standard, combo, service, open_price"},
        {"row": 5, "column": "modifier_groups", "reason": "no modifier group 'Nope'"},
        {"row": 5, "column": "price", "reason": "'abc' is not an amount like 18.00"},
        {"row": 5, "column": "vat_rate_code", "reason": "no store has VAT rate 'luxury'"},
    ]
    assert [item.field for item in error.value.errors][:2] == ["rows.3.price", "rows.5.category"]
    assert error.value.detail.startswith("nothing was imported: row 3, price: CNY has 2 decimals")
    # and nothing was written: not the good row, not its new category
    assert await product_count(session, shop) == before
    names = (
        await session.scalars(select(Category.name).where(Category.organization_id == shop.organization.id))
    ).all()
    assert list(names) == ["Drinks"]


async def test_skus_and_barcodes_are_checked_across_the_file_and_the_catalog(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager, name="Drinks")
    await make_product(session, shop.manager, category, sku="OLD", barcode="111")
    await make_product(session, shop.manager, category, sku="MOVING", barcode="222")
    content = (
        b"sku,category,name,price,vat_rate_code,barcode\n"
        b"NEW-A,Drinks,A,1.00,standard,111\n"
        b"NEW-B,Drinks,B,1.00,standard,\n"
        b"NEW-B,Drinks,B again,1.00,standard,\n"
        # the barcode of a product the file moves elsewhere is free
        b"MOVING,Drinks,Moving,1.00,standard,333\n"
        b"NEW-C,Drinks,C,1.00,standard,222\n"
    )
    with pytest.raises(ValidationFailed) as error:
        await import_catalog(session, shop.manager, content, CatalogFormat.CSV)
    assert error.value.extra["problems"] == [
        {"row": 2, "column": "barcode", "reason": "barcode '111' is used by product OLD"},
        {"row": 4, "column": "sku", "reason": "also in row 3"},
    ]


async def test_missing_and_unknown_columns_are_reported_on_the_header_row(
    session: AsyncSession, shop: Shop
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await import_catalog(
            session, shop.manager, b"sku,category,name,price,colour,name.english\n", CatalogFormat.CSV
        )
    assert error.value.extra["problems"] == [
        {"row": 1, "column": "colour", "reason": "unknown column"},
        {"row": 1, "column": "name.english", "reason": "name columns are name.<locale>, like name.en"},
        {"row": 1, "column": "vat_rate_code", "reason": "this column is required"},
    ]


async def test_an_import_updates_by_sku_and_creates_missing_categories(
    session: AsyncSession, shop: Shop
) -> None:
    await build_catalog(session, shop)
    changed = EXPECTED_CSV.replace(
        "COF-LAT,咖啡,拿铁,Latte,6901234567892,24.00", "COF-LAT,咖啡,拿铁,Latte,6901234567892,26.00"
    )
    changed += "TEA-GRN,茶,绿茶,Green tea,,15.00,CNY,standard,cup,standard,,,,,,true\r\n"
    result = await import_catalog(session, shop.manager, changed.encode(), CatalogFormat.CSV)
    assert result == ImportResult(created=1, updated=1, unchanged=5, categories_created=1)
    latte = await session.scalar(select(Product).where(Product.sku == "COF-LAT"))
    tea = await session.scalar(select(Product).where(Product.sku == "TEA-GRN"))
    assert latte is not None
    assert tea is not None
    assert (latte.price_amount, tea.price_amount, tea.name_translations) == (2600, 1500, {"en": "Green tea"})


async def test_a_csv_saved_by_chinese_excel_is_read(session: AsyncSession, shop: Shop) -> None:
    content = "sku,category,name,price,vat_rate_code\nTEA-1,茶饮,柠檬红茶,14.00,standard\n".encode("gb18030")
    result = await import_catalog(session, shop.manager, content, CatalogFormat.CSV)
    assert result.created == 1
    assert await session.scalar(select(Product.name).where(Product.sku == "TEA-1")) == "柠檬红茶"


async def test_not_a_workbook_and_an_empty_file_are_refused(session: AsyncSession, shop: Shop) -> None:
    with pytest.raises(ValidationFailed, match="the file is not an XLSX workbook"):
        await import_catalog(session, shop.manager, b"sku,name\n", CatalogFormat.XLSX)
    with pytest.raises(ValidationFailed, match="the file is empty"):
        await import_catalog(session, shop.manager, b"", CatalogFormat.CSV)


async def test_only_catalog_managers_import(session: AsyncSession, shop: Shop) -> None:
    with pytest.raises(PermissionDenied):
        await import_catalog(session, shop.cashier, EXPECTED_CSV.encode(), CatalogFormat.CSV)
    with pytest.raises(PermissionDenied):
        await export_catalog(session, shop.cashier, CatalogFormat.CSV)
