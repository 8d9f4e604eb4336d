"""Export and import of members as CSV or XLSX: one row per member.

Columns: ``card_number, name, phone, email, birthday, gender, tags, marketing_sms_opt_in,
privacy_policy_version, registered_at, total_spend, visits, last_visit``. Phones are
E.164; dates ``2026-11-23``; times ``2026-11-23 12:05:00`` in the store's local time;
tags are separated by ``|``; ``total_spend`` is in major units (``18.00``), by the rules of
``members.profile``. An export holds the members a list filter selects (not erased ones).

An import creates members (source ``import``) in one store: ``phone``, ``name`` and
``privacy_policy_version`` are required, the last stating which privacy policy the member
accepted (a member without it cannot be imported). Phones are read in the store's region.
``card_number`` (kept, so the customers' cards go on working), ``registered_at``,
``address`` and ``notes`` are optional; ``total_spend``, ``visits`` and ``last_visit`` are
figures and ignored, so an export imports as it is. A phone number that is a member
already, or a row repeating one above, is skipped or reported as a problem (the caller's
choice). Every problem names its row (as the spreadsheet numbers it, the header being row 1)
and column. All or nothing (the default): a problem in any row imports nothing; otherwise
the good rows are imported and the others reported.

Free-text cells starting with ``= + - @`` are written with a leading ``'`` in CSV (and as
text in XLSX), so a spreadsheet never runs a name as a formula; the import takes it off.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.transfer import CatalogFormat, read_table
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import FieldProblem, KassaError, ValidationFailed
from kassa.core.money import Money
from kassa.core.phones import normalize_phone
from kassa.members import service
from kassa.members.cards import is_card_number
from kassa.members.models import ConsentKind, Gender, Member, MemberConsent, RegistrationSource
from kassa.members.profile import MemberFilter, figures_of, filtered_members, local_settings
from kassa.stores.models import Store
from kassa.stores.service import get_store


class MemberFileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class DuplicatePolicy(StrEnum):
    """What an import does with a phone number that is a member already (or is in an
    earlier row): skip the row and list it, or report it as a problem."""

    SKIP = "skip"
    REPORT = "report"


MEDIA_TYPES = {
    MemberFileFormat.CSV: "text/csv; charset=utf-8",
    MemberFileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = (
    "card_number",
    "name",
    "phone",
    "email",
    "birthday",
    "gender",
    "tags",
    "marketing_sms_opt_in",
    "privacy_policy_version",
    "registered_at",
    "total_spend",
    "visits",
    "last_visit",
)
FIGURE_COLUMNS = ("total_spend", "visits", "last_visit")  # exported, ignored by an import
IMPORT_ONLY_COLUMNS = ("address", "notes")
REQUIRED_COLUMNS = ("phone", "name", "privacy_policy_version")
TAG_SEPARATOR = "|"
MAX_ROWS = 10_000
BATCH = 500
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FORMULA_STARTS = ("=", "+", "-", "@")
_ESCAPED_COLUMNS = ("name", "email", "tags", "address", "notes")
_TRUE = frozenset({"true", "yes", "y", "1", "是"})
_FALSE = frozenset({"", "false", "no", "n", "0", "否"})
_GENDERS = {"女": Gender.FEMALE, "男": Gender.MALE, "其他": Gender.OTHER}
_DATE_PATTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})( 00:00(:00)?)?$")
# Where the service's field names are shown in a sheet.
_COLUMN_OF_FIELD = {"privacy_policy_accepted": "privacy_policy_version"}


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class MemberImportResult:
    created: int
    skipped: list[ImportProblem] = field(default_factory=list)  # duplicates, not imported
    problems: list[ImportProblem] = field(default_factory=list)  # rows not imported (not all-or-nothing)


# --- export -------------------------------------------------------------------------------


async def export_members(
    session: AsyncSession,
    actor: Actor,
    file_format: MemberFileFormat,
    filters: MemberFilter | None = None,
) -> bytes:
    """The members a filter selects (default: all but erased ones), in sign-up order, with
    their figures. A bulk copy of personal data: back-office staff who may read contact
    details (``member.contacts_view``) only, and audited."""
    actor.require(Permission.BACK_OFFICE)
    actor.require(Permission.MEMBER_CONTACTS_VIEW)
    query = await filtered_members(session, actor, filters or MemberFilter())
    member_ids = list((await session.scalars(query.with_only_columns(Member.id).order_by(Member.id))).all())
    local = await local_settings(session, actor)
    rows: list[list[str]] = []
    for start in range(0, len(member_ids), BATCH):
        batch = member_ids[start : start + BATCH]
        members = (
            await session.scalars(select(Member).where(Member.id.in_(batch)).order_by(Member.id))
        ).all()
        figures = await figures_of(session, actor.organization_id, batch)
        versions = await _privacy_versions(session, batch)
        for member in members:
            figure = figures[member.id]
            rows.append(
                [
                    member.card_number,
                    member.name,
                    member.phone_e164,
                    member.email or "",
                    member.birthday.isoformat() if member.birthday else "",
                    member.gender.value,
                    TAG_SEPARATOR.join(member.tags),
                    "true" if member.marketing_sms_opt_in else "false",
                    versions.get(member.id, ""),
                    _local_time(member.created_at, local.timezone),
                    f"{Money(figure.total_spend_amount, local.currency).to_decimal():f}",
                    str(figure.visits),
                    _local_time(figure.last_visit_at, local.timezone) if figure.last_visit_at else "",
                ]
            )
    audit.record(
        session,
        actor,
        "members.export",
        "organization",
        actor.organization_id,
        after={"members": len(rows), "format": file_format.value},
    )
    header = list(COLUMNS)
    if file_format == MemberFileFormat.CSV:
        return _write_csv(header, rows)
    return _write_xlsx(header, rows)


async def _privacy_versions(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, str]:
    """The privacy policy version each member accepted last, if their latest privacy
    record is an acceptance (a withdrawal leaves none)."""
    versions: dict[int, str] = {}
    rows = await session.execute(
        select(MemberConsent.member_id, MemberConsent.is_granted, MemberConsent.policy_version)
        .where(MemberConsent.member_id.in_(member_ids), MemberConsent.kind == ConsentKind.PRIVACY_POLICY)
        .order_by(MemberConsent.member_id, MemberConsent.recorded_at, MemberConsent.id)
    )
    for member_id, is_granted, version in rows.all():
        if is_granted and version:
            versions[member_id] = version
        else:
            versions.pop(member_id, None)
    return versions


def _local_time(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime(TIME_FORMAT)


def _escape(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _write_csv(header: list[str], rows: list[list[str]]) -> bytes:
    escaped = [header.index(column) for column in _ESCAPED_COLUMNS if column in header]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_escape(cell) if index in escaped else cell for index, cell in enumerate(row)])
    # The byte-order mark makes Excel open the file as UTF-8 (Chinese names stay readable).
    return buffer.getvalue().encode("utf-8-sig")


def _write_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Members"
    sheet.append(header)
    for row in rows:
        sheet.append(row)  # every cell is text: phones keep their +, card numbers their digits
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula
    sheet.freeze_panes = "A2"
    for index, column in enumerate(header, start=1):
        width = max([len(column), *(len(row[index - 1]) for row in rows)], default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, 50)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- import -------------------------------------------------------------------------------


@dataclass
class _ParsedRow:
    number: int
    phone: str
    card_number: str | None
    data: service.MemberInput
    consents: service.RegistrationConsents
    registered_at: datetime | None


async def import_members(
    session: AsyncSession,
    actor: Actor,
    content: bytes,
    file_format: MemberFileFormat,
    *,
    store_id: int,
    duplicates: DuplicatePolicy = DuplicatePolicy.SKIP,
    is_all_or_nothing: bool = True,
) -> MemberImportResult:
    """Create members in ``store_id`` from a sheet (see the module's rules). All or
    nothing: any problem raises ``ValidationFailed`` listing every one, and the unit of
    work rolls back whatever was written."""
    actor.require(Permission.MEMBER_MANAGE)
    actor.require(Permission.BACK_OFFICE)
    store = await get_store(session, actor, store_id)
    table = read_table(content, CatalogFormat(file_format.value))
    if not table or not any(table[0]):
        raise ValidationFailed("the file is empty; the first row names the columns", field="file")
    header = [column.strip().lower() for column in table[0]]
    problems = _header_problems(header)
    if problems:
        raise _import_failed(problems, [])
    body = [(number, row) for number, row in enumerate(table[1:], start=2) if any(row)]
    if len(body) > MAX_ROWS:
        raise ValidationFailed(f"at most {MAX_ROWS} members per file", field="file")

    parsed: list[_ParsedRow] = []
    for number, cells_in_order in body:
        cells = {
            column: cells_in_order[index] if index < len(cells_in_order) else ""
            for index, column in enumerate(header)
        }
        parsed_row = _parse_row(number, cells, store, problems)
        if parsed_row is not None:
            parsed.append(parsed_row)
    skipped: list[ImportProblem] = []
    parsed = await _without_duplicates(session, actor, parsed, duplicates, problems, skipped)

    created = 0
    for row in parsed:
        try:
            await service.register_member(
                session,
                actor,
                store_id,
                row.data,
                row.consents,
                source=RegistrationSource.IMPORT,
                card_number=row.card_number,
                registered_at=row.registered_at,
            )
        except KassaError as error:
            # The service checks before it writes: a refused row left nothing behind.
            column = _COLUMN_OF_FIELD.get(error.field or "", error.field or "")
            problems.append(ImportProblem(row.number, column, error.detail))
            continue
        created += 1
    if problems and is_all_or_nothing:
        raise _import_failed(problems, skipped)
    audit.record(
        session,
        actor,
        "members.import",
        "organization",
        actor.organization_id,
        store_id=store_id,
        after={"created": created, "skipped": len(skipped), "rejected": len(problems)},
    )
    return MemberImportResult(created, _sorted(skipped), _sorted(problems))


def _header_problems(header: Sequence[str]) -> list[ImportProblem]:
    problems = []
    known = set(COLUMNS) | set(IMPORT_ONLY_COLUMNS)
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(ImportProblem(1, column, "the column appears twice"))
        seen.add(column)
        if column not in known:
            problems.append(ImportProblem(1, column, "unknown column"))
    problems.extend(
        ImportProblem(1, column, "this column is required")
        for column in REQUIRED_COLUMNS
        if column not in seen
    )
    return problems


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def parse_date(text: str) -> date:
    """``2026-11-23`` (or with / or .), also as a spreadsheet gives a date cell."""
    match = _DATE_PATTERN.match(text)
    if match is None:
        raise ValueError(text)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def parse_local_time(text: str, timezone: str) -> datetime:
    """A date or a date and time; without an offset it is the store's local time."""
    try:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        moment = datetime.combine(parse_date(text), datetime.min.time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def _parse_row(
    number: int, cells: dict[str, str], store: Store, problems: list[ImportProblem]
) -> _ParsedRow | None:
    before = len(problems)

    def problem(column: str, reason: str) -> None:
        problems.append(ImportProblem(number, column, reason))

    def text(column: str) -> str:
        value = cells.get(column, "").strip()
        return _unescape(value) if column in _ESCAPED_COLUMNS else value

    phone = ""
    try:
        phone = normalize_phone(text("phone"), store.phone_region)
    except ValidationFailed as error:
        problem("phone", error.detail)
    if not text("name"):
        problem("name", "a name is needed")
    version = text("privacy_policy_version")
    if not version:
        problem("privacy_policy_version", "state the privacy policy version the member accepted")
    elif len(version) > service.MAX_POLICY_VERSION_LENGTH:
        problem("privacy_policy_version", f"at most {service.MAX_POLICY_VERSION_LENGTH} characters")
    card_number = re.sub(r"[\s-]", "", text("card_number")) or None
    if card_number is not None and not is_card_number(card_number):
        problem("card_number", "a card number has 10 digits, the last a check digit")
    birthday: date | None = None
    if text("birthday"):
        try:
            birthday = parse_date(text("birthday"))
        except ValueError:
            problem("birthday", "a date like 1990-05-17")
    gender_text = text("gender")
    gender = _GENDERS.get(gender_text)
    if gender is None:
        try:
            gender = Gender(gender_text.lower() or Gender.UNSPECIFIED.value)
        except ValueError:
            problem("gender", f"one of {', '.join(item.value for item in Gender)}")
            gender = Gender.UNSPECIFIED
    opt_in_text = text("marketing_sms_opt_in").lower()
    if opt_in_text not in _TRUE | _FALSE:
        problem("marketing_sms_opt_in", "true or false")
    registered_at: datetime | None = None
    if text("registered_at"):
        try:
            registered_at = parse_local_time(text("registered_at"), store.timezone)
        except ValueError:
            problem("registered_at", "a date and time like 2026-11-23 12:05:00")
    if len(problems) > before:
        return None
    return _ParsedRow(
        number=number,
        phone=phone,
        card_number=card_number,
        data=service.MemberInput(
            phone=phone,
            name=text("name"),
            email=text("email") or None,
            birthday=birthday,
            gender=gender,
            address=text("address") or None,
            notes=text("notes"),
            tags=[tag for tag in text("tags").split(TAG_SEPARATOR) if tag.strip()],
        ),
        consents=service.RegistrationConsents(
            privacy_policy_accepted=True,
            privacy_policy_version=version,
            marketing_sms=opt_in_text in _TRUE,
        ),
        registered_at=registered_at,
    )


async def _without_duplicates(
    session: AsyncSession,
    actor: Actor,
    rows: list[_ParsedRow],
    policy: DuplicatePolicy,
    problems: list[ImportProblem],
    skipped: list[ImportProblem],
) -> list[_ParsedRow]:
    """The rows to create: a phone number that is a member already or in an earlier row
    is skipped or a problem (``policy``); a card number used twice is always a problem."""
    members_by_phone: dict[str, int] = {}
    cards_taken: set[str] = set()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        found = await session.execute(
            select(Member.phone_e164, Member.id).where(
                Member.organization_id == actor.organization_id,
                Member.phone_e164.in_([row.phone for row in batch]),
            )
        )
        members_by_phone.update({phone: member_id for phone, member_id in found.all()})
        cards = [row.card_number for row in batch if row.card_number]
        if cards:
            taken = await session.scalars(
                select(Member.card_number).where(
                    Member.organization_id == actor.organization_id, Member.card_number.in_(cards)
                )
            )
            cards_taken.update(taken.all())
    first_row_of_phone: dict[str, int] = {}
    first_row_of_card: dict[str, int] = {}
    kept = []
    for row in rows:
        duplicate = None
        if row.phone in members_by_phone:
            duplicate = (
                f"a member with this phone number exists already (member {members_by_phone[row.phone]})"
            )
        elif row.phone in first_row_of_phone:
            duplicate = f"the same phone number as row {first_row_of_phone[row.phone]}"
        first_row_of_phone.setdefault(row.phone, row.number)
        if duplicate is not None:
            (skipped if policy == DuplicatePolicy.SKIP else problems).append(
                ImportProblem(row.number, "phone", duplicate)
            )
            continue
        if row.card_number is not None:
            if row.card_number in cards_taken:
                problems.append(
                    ImportProblem(row.number, "card_number", "another member has this card number")
                )
                continue
            if row.card_number in first_row_of_card:
                problems.append(
                    ImportProblem(
                        row.number, "card_number", f"also in row {first_row_of_card[row.card_number]}"
                    )
                )
                continue
            first_row_of_card[row.card_number] = row.number
        kept.append(row)
    return kept


def _sorted(problems: list[ImportProblem]) -> list[ImportProblem]:
    return sorted(problems, key=lambda item: (item.row, item.column))


def _import_failed(problems: list[ImportProblem], skipped: list[ImportProblem]) -> ValidationFailed:
    problems = _sorted(problems)
    shown = "; ".join(f"row {item.row}, {item.column}: {item.reason}" for item in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ValidationFailed(
        f"nothing was imported: {shown}{more}",
        errors=[FieldProblem(f"rows.{item.row}.{item.column}", item.reason) for item in problems],
        extra={
            "problems": [
                {"row": item.row, "column": item.column, "reason": item.reason} for item in problems
            ],
            "skipped": [
                {"row": item.row, "column": item.column, "reason": item.reason} for item in _sorted(skipped)
            ],
        },
    )
