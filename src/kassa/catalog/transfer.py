"""Import and export of the catalog as CSV or XLSX: one row per product.

Columns: ``sku, category, name, name.<locale>…, barcode, price, currency, vat_rate_code,
unit, kind, duration_minutes, min_price, max_price, image_url, modifier_groups,
is_active``. Prices are major units as text (``18.00``), read exactly with ``Decimal``;
modifier groups are listed by name, separated by ``|``.

An import upserts by SKU. Every row is checked first, against the database and the other
rows; if any is wrong nothing is written and each problem names its row (as the
spreadsheet numbers it, the header being row 1) and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Category, ModifierGroup, Product, ProductKind
from kassa.catalog.products import (
    LOCALE_PATTERN,
    ProductInput,
    apply_product,
    create_category,
    known_vat_rate_codes,
    modifier_group_ids_by_product,
    product_input_problems,
    product_snapshot,
    set_product_modifier_groups,
)
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import FieldProblem, ValidationFailed
from kassa.core.money import Money, minor_unit_exponent
from kassa.stores.models import Store


class CatalogFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    CatalogFormat.CSV: "text/csv; charset=utf-8",
    CatalogFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LEADING_COLUMNS = ("sku", "category", "name")
TRAILING_COLUMNS = (
    "barcode",
    "price",
    "currency",
    "vat_rate_code",
    "unit",
    "kind",
    "duration_minutes",
    "min_price",
    "max_price",
    "image_url",
    "modifier_groups",
    "is_active",
)
REQUIRED_COLUMNS = ("sku", "category", "name", "price", "vat_rate_code")
GROUP_SEPARATOR = "|"
MAX_ROWS = 10_000
_PRICE_PATTERN = re.compile(r"^\d+(\.\d+)?$")
# Where the product rules' field names are shown in a spreadsheet.
_COLUMN_OF_FIELD = {
    "price_amount": "price",
    "min_price_amount": "min_price",
    "max_price_amount": "max_price",
    "category_id": "category",
    "translations": "name",
}


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    categories_created: int


def format_price(amount: int | None, currency: str) -> str:
    """Minor units as major-unit text: 1800 CNY is ``18.00``."""
    if amount is None:
        return ""
    return f"{Money(amount, currency).to_decimal():f}"


def parse_price(text: str, currency: str) -> Money:
    """Major-unit text to exact minor units; more decimals than the currency has is an
    error, never a rounding."""
    if not _PRICE_PATTERN.match(text):
        raise ValueError(f"{text!r} is not an amount like 18.00")
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > minor_unit_exponent(currency):
        raise ValueError(f"{currency} has {minor_unit_exponent(currency)} decimals; {text!r} has more")
    return Money.from_decimal(value, currency)


# --- export -------------------------------------------------------------------------------


async def export_catalog(session: AsyncSession, actor: Actor, file_format: CatalogFormat) -> bytes:
    """Every product of the organization (archived ones too), in category order."""
    actor.require(Permission.BACK_OFFICE)
    header, rows = await _export_rows(session, actor)
    return _write_csv(header, rows) if file_format == CatalogFormat.CSV else _write_xlsx(header, rows)


async def _export_rows(session: AsyncSession, actor: Actor) -> tuple[list[str], list[list[str]]]:
    query = (
        select(Product, Category)
        .join(Category, Category.id == Product.category_id)
        .where(Product.organization_id == actor.organization_id)
        .order_by(Category.sort_order, Category.id, Product.sort_order, Product.id)
    )
    pairs = (await session.execute(query)).all()
    groups = {
        group.id: group.name
        for group in (
            await session.scalars(
                select(ModifierGroup).where(
                    ModifierGroup.organization_id == actor.organization_id, ModifierGroup.is_active
                )
            )
        ).all()
    }
    links = await modifier_group_ids_by_product(session, [product.id for product, _category in pairs])
    locales = sorted({locale for product, _category in pairs for locale in product.name_translations})
    header = [*LEADING_COLUMNS, *(f"name.{locale}" for locale in locales), *TRAILING_COLUMNS]
    rows = []
    for product, category in pairs:
        rows.append(
            [
                product.sku,
                category.name,
                product.name,
                *(product.name_translations.get(locale, "") for locale in locales),
                product.barcode or "",
                format_price(product.price_amount, product.currency),
                product.currency,
                product.vat_rate_code,
                product.unit,
                product.kind.value,
                "" if product.duration_minutes is None else str(product.duration_minutes),
                format_price(product.min_price_amount, product.currency),
                format_price(product.max_price_amount, product.currency),
                product.image_url,
                f" {GROUP_SEPARATOR} ".join(
                    groups[group_id] for group_id in links[product.id] if group_id in groups
                ),
                "true" if product.is_active else "false",
            ]
        )
    return header, rows


def _write_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    # The byte-order mark makes Excel open the file as UTF-8 (Chinese names stay readable).
    return buffer.getvalue().encode("utf-8-sig")


def _write_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Catalog"
    sheet.append(header)
    for row in rows:
        sheet.append(row)  # every cell is text, so prices and barcodes stay exactly as written
    sheet.freeze_panes = "A2"
    for index, column in enumerate(header, start=1):
        width = max([len(column), *(len(row[index - 1]) for row in rows)], default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, 50)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- import -------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # A number typed into Excel is stored as a binary float; its shortest repr is what
        # was typed (18.5, not 18.499999…), read as an exact Decimal from there.
        if value.is_integer():
            return str(int(value))
        return f"{Decimal(repr(value)):f}"
    return str(value).strip()


def read_table(content: bytes, file_format: CatalogFormat) -> list[list[str]]:
    """The sheet's rows as text cells, the header first; blank rows kept (they keep the row
    numbers right) and skipped later."""
    if file_format == CatalogFormat.CSV:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Chinese Excel saves CSV in GB18030 (GBK) unless told otherwise.
            try:
                text = content.decode("gb18030")
            except UnicodeDecodeError:
                raise ValidationFailed("the CSV file is neither UTF-8 nor GB18030", field="file") from None
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError):
        raise ValidationFailed("the file is not an XLSX workbook", field="file") from None
    sheet = workbook.worksheets[0]
    rows = [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


@dataclass
class _ParsedRow:
    number: int
    sku: str
    category: str
    data: ProductInput
    group_ids: list[int]


async def import_catalog(
    session: AsyncSession, actor: Actor, content: bytes, file_format: CatalogFormat
) -> ImportResult:
    """Create or update products by SKU from a sheet; all rows or none."""
    actor.require(Permission.CATALOG_MANAGE)
    table = read_table(content, file_format)
    if not table or not any(table[0]):
        raise ValidationFailed("the file is empty; the first row names the columns", field="file")
    header = table[0]
    problems = _header_problems(header)
    if problems:
        raise _import_failed(problems)
    body = [(number, row) for number, row in enumerate(table[1:], start=2) if any(row)]
    if len(body) > MAX_ROWS:
        raise ValidationFailed(f"at most {MAX_ROWS} products per file", field="file")

    context = await _ImportContext.load(session, actor)
    parsed: list[_ParsedRow] = []
    for number, row in body:
        cells = {column: row[index] if index < len(row) else "" for index, column in enumerate(header)}
        result = context.parse_row(number, cells, problems)
        if result is not None:
            parsed.append(result)
    problems += context.cross_row_problems(parsed)
    if problems:
        raise _import_failed(problems)
    return await context.write(session, actor, parsed)


def _header_problems(header: Sequence[str]) -> list[ImportProblem]:
    problems = []
    known = set(LEADING_COLUMNS) | set(TRAILING_COLUMNS)
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(ImportProblem(1, column, "the column appears twice"))
        seen.add(column)
        if column.startswith("name."):
            if not LOCALE_PATTERN.match(column.removeprefix("name.")):
                problems.append(ImportProblem(1, column, "name columns are name.<locale>, like name.en"))
        elif column not in known:
            problems.append(ImportProblem(1, column, "unknown column"))
    problems.extend(
        ImportProblem(1, column, "this column is required")
        for column in REQUIRED_COLUMNS
        if column not in seen
    )
    return problems


def _import_failed(problems: list[ImportProblem]) -> ValidationFailed:
    problems = sorted(problems, key=lambda item: (item.row, item.column))
    shown = "; ".join(f"row {item.row}, {item.column}: {item.reason}" for item in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ValidationFailed(
        f"nothing was imported: {shown}{more}",
        errors=[FieldProblem(f"rows.{item.row}.{item.column}", item.reason) for item in problems],
        extra={
            "problems": [{"row": item.row, "column": item.column, "reason": item.reason} for item in problems]
        },
    )


@dataclass
class _ImportContext:
    categories: dict[str, int]
    products: dict[str, Product]
    groups: dict[str, list[int]]
    vat_codes: set[str]
    default_currency: str | None

    @classmethod
    async def load(cls, session: AsyncSession, actor: Actor) -> _ImportContext:
        organization = actor.organization_id
        categories = (
            await session.scalars(select(Category).where(Category.organization_id == organization))
        ).all()
        products = (
            await session.scalars(select(Product).where(Product.organization_id == organization))
        ).all()
        groups: dict[str, list[int]] = {}
        for group in (
            await session.scalars(
                select(ModifierGroup).where(
                    ModifierGroup.organization_id == organization, ModifierGroup.is_active
                )
            )
        ).all():
            groups.setdefault(group.name, []).append(group.id)
        currencies = set(
            (await session.scalars(select(Store.currency).where(Store.organization_id == organization))).all()
        )
        return cls(
            categories={category.name: category.id for category in categories},
            products={product.sku: product for product in products},
            groups=groups,
            vat_codes=await known_vat_rate_codes(session, organization),
            default_currency=next(iter(currencies)) if len(currencies) == 1 else None,
        )

    def parse_row(
        self, number: int, cells: dict[str, str], problems: list[ImportProblem]
    ) -> _ParsedRow | None:
        before = len(problems)

        def problem(column: str, reason: str) -> None:
            problems.append(ImportProblem(number, column, reason))

        currency = cells.get("currency", "") or self.default_currency or ""
        if not re.fullmatch(r"[A-Z]{3}", currency):
            problem("currency", "a 3-letter currency like CNY is needed")
            currency = "XXX"

        def price(column: str, *, is_required: bool) -> Money | None:
            text = cells.get(column, "")
            if not text:
                if is_required:
                    problem(column, "a price like 18.00 is needed")
                return None
            try:
                return parse_price(text, currency)
            except ValueError as error:
                problem(column, str(error))
                return None

        base_price = price("price", is_required=True)
        min_price = price("min_price", is_required=False)
        max_price = price("max_price", is_required=False)
        kind_text = cells.get("kind", "") or ProductKind.STANDARD.value
        try:
            kind = ProductKind(kind_text)
        except ValueError:
            problem("kind", f"one of {', '.join(item.value for item in ProductKind)}")
            kind = ProductKind.STANDARD
        duration: int | None = None
        if cells.get("duration_minutes"):
            if cells["duration_minutes"].isdigit():
                duration = int(cells["duration_minutes"])
            else:
                problem("duration_minutes", "whole minutes, like 45")
        is_active = True
        active_text = cells.get("is_active", "").lower()
        if active_text in {"false", "no", "0"}:
            is_active = False
        elif active_text not in {"", "true", "yes", "1"}:
            problem("is_active", "true or false")
        if not cells["category"]:
            problem("category", "a category name is needed")
        if self.vat_codes and cells["vat_rate_code"] and cells["vat_rate_code"] not in self.vat_codes:
            problem("vat_rate_code", f"no store has VAT rate {cells['vat_rate_code']!r}")
        group_ids = []
        for group_name in filter(
            None, (part.strip() for part in cells.get("modifier_groups", "").split(GROUP_SEPARATOR))
        ):
            matches = self.groups.get(group_name, [])
            if len(matches) != 1:
                problem(
                    "modifier_groups",
                    f"no modifier group {group_name!r}"
                    if not matches
                    else f"{group_name!r} names several groups",
                )
            else:
                group_ids.append(matches[0])

        data = ProductInput(
            category_id=self.categories.get(cells["category"], 0),
            name=cells["name"],
            sku=cells["sku"],
            price=base_price if base_price is not None else Money(0, currency),
            vat_rate_code=cells["vat_rate_code"],
            translations={
                column.removeprefix("name."): text
                for column, text in cells.items()
                if column.startswith("name.") and text
            },
            barcode=cells.get("barcode") or None,
            unit=cells.get("unit", "") or "piece",
            image_url=cells.get("image_url", ""),
            kind=kind,
            duration_minutes=duration,
            min_price=min_price,
            max_price=max_price,
            is_active=is_active,
        )
        reported = {(item.row, item.column) for item in problems}
        for field_problem in product_input_problems(data):
            column = _COLUMN_OF_FIELD.get(field_problem.field, field_problem.field)
            if (number, column) not in reported:
                problem(column, field_problem.reason)
        if len(problems) > before:
            return None
        existing = self.products.get(data.sku.strip())
        return _ParsedRow(
            number=number,
            sku=data.sku.strip(),
            category=cells["category"],
            data=replace(data, sort_order=existing.sort_order if existing is not None else 0),
            group_ids=group_ids,
        )

    def cross_row_problems(self, rows: list[_ParsedRow]) -> list[ImportProblem]:
        """SKUs once per file; a barcode on one product only, counting the file's rows and
        the products the file does not touch."""
        problems = []
        first_row_of_sku: dict[str, int] = {}
        for row in rows:
            if row.sku in first_row_of_sku:
                problems.append(ImportProblem(row.number, "sku", f"also in row {first_row_of_sku[row.sku]}"))
            first_row_of_sku.setdefault(row.sku, row.number)
        owner_of_barcode: dict[str, str] = {
            product.barcode: f"product {sku}"
            for sku, product in self.products.items()
            if product.barcode and sku not in first_row_of_sku
        }
        for row in rows:
            barcode = (row.data.barcode or "").strip()
            if not barcode:
                continue
            owner = owner_of_barcode.get(barcode)
            if owner is not None:
                problems.append(
                    ImportProblem(row.number, "barcode", f"barcode {barcode!r} is used by {owner}")
                )
            else:
                owner_of_barcode[barcode] = f"row {row.number}"
        return problems

    async def write(self, session: AsyncSession, actor: Actor, rows: list[_ParsedRow]) -> ImportResult:
        categories_created = 0
        for row in rows:
            if row.category not in self.categories:
                category = await create_category(session, actor, row.category)
                self.categories[row.category] = category.id
                categories_created += 1
        existing_ids = [product.id for product in self.products.values()]
        current_groups = await modifier_group_ids_by_product(session, existing_ids)
        created = updated = unchanged = 0
        for row in rows:
            data = replace(row.data, category_id=self.categories[row.category])
            product = self.products.get(row.sku)
            if product is None:
                product = Product(organization_id=actor.organization_id)
                apply_product(product, data)
                session.add(product)
                await session.flush()
                audit.record(
                    session, actor, "product.import", "product", product.id, after=product_snapshot(product)
                )
                created += 1
                is_changed = True
            else:
                before = product_snapshot(product)
                apply_product(product, data)
                after = product_snapshot(product)
                is_changed = before != after
                if is_changed:
                    await session.flush()
                    audit.record(
                        session, actor, "product.import", "product", product.id, before=before, after=after
                    )
            if current_groups.get(product.id, []) != row.group_ids:
                await set_product_modifier_groups(session, actor, product.id, row.group_ids)
                is_changed = True
            if product.id not in current_groups:
                continue  # created above
            if is_changed:
                updated += 1
            else:
                unchanged += 1
        result = ImportResult(created, updated, unchanged, categories_created)
        audit.record(
            session,
            actor,
            "catalog.import",
            "organization",
            actor.organization_id,
            after={
                "created": created,
                "updated": updated,
                "unchanged": unchanged,
                "categories_created": categories_created,
            },
        )
        return result
