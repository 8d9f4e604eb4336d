"""Members as CSV and XLSX: the export's content, a round trip into another organization,
and an import's problems, each naming its row and column."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.database import Database
from kassa.core.errors import PermissionDenied, ValidationFailed
from kassa.members import service, transfer
from kassa.members.cards import luhn_check_digit
from kassa.members.models import ConsentKind, ConsentSource, Gender, Member, RegistrationSource
from kassa.members.profile import MemberFilter
from kassa.members.transfer import DuplicatePolicy, ImportProblem, MemberFileFormat
from tests.factories import make_organization, make_staff, make_store
from tests.members.conftest import MemberShop, make_member
from tests.members.sales import local, make_sales, refund, sell
from tests.shop import Shop

HEADER = ",".join(transfer.COLUMNS)


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [
        [str(cell) if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)
    ]


async def _exported_members(session: AsyncSession, shop: MemberShop) -> list[Member]:
    """Li Na with everything filled in and two visits; Wang Fang with little; an erased member."""
    sales = await make_sales(session, shop)
    li = await service.register_member(
        session,
        shop.cashier,
        shop.store.id,
        service.MemberInput(
            phone="138 0013 8000",
            name="Li Na 李娜",
            email="li@example.com",
            birthday=date(1990, 5, 17),
            gender=Gender.FEMALE,
            tags=["vip", "oat milk"],
        ),
        service.RegistrationConsents(
            privacy_policy_accepted=True, privacy_policy_version="2026-11", marketing_sms=True
        ),
    )
    li.created_at = local(2026, 1, 5, 9, 30)
    await sell(session, sales, li, [("latte", 2)], closed_at=local(2026, 3, 1, 18))
    second = await sell(
        session,
        sales,
        li,
        [("cake", 1), ("tart", 1, 805)],
        rounding_amount=-5,
        closed_at=local(
            2026,
            3,
            8,
            12,
            15,
        ),
    )
    await refund(session, sales, second, 800)
    wang = await make_member(session, shop.cashier, shop.store, phone="13900139000", name="=Wang Fang")
    wang.created_at = local(2026, 2, 1, 0, 5)
    # a withdrawn privacy consent leaves no version to export
    await service.record_consent(session, shop.cashier, wang.id, ConsentKind.PRIVACY_POLICY, False)
    erased = await make_member(session, shop.cashier, shop.store, name="Gone")
    erased.erased_at = local(2026, 3, 1)
    await session.flush()
    return [li, wang]


async def test_the_csv_export_holds_members_and_their_figures(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    li, wang = await _exported_members(session, member_shop)
    content = await transfer.export_members(session, member_shop.actors[Role.MANAGER], MemberFileFormat.CSV)
    assert content.startswith("\ufeff".encode())
    assert content.decode("utf-8-sig").splitlines()[0] == HEADER
    assert _rows(content) == [
        {
            "card_number": li.card_number,
            "name": "Li Na 李娜",
            "phone": "+8613800138000",
            "email": "li@example.com",
            "birthday": "1990-05-17",
            "gender": "female",
            "tags": "vip|oat milk",
            "marketing_sms_opt_in": "true",
            "privacy_policy_version": "2026-11",
            "registered_at": "2026-01-05 09:30:00",
            "total_spend": "76.00",  # 48.00 + 36.00 (36.05 less 0.05 抹零), less 8.00 refunded
            "visits": "2",
            "last_visit": "2026-03-08 12:15:00",
        },
        {
            "card_number": wang.card_number,
            "name": "'=Wang Fang",  # never a formula in a spreadsheet
            "phone": "+8613900139000",
            "email": "",
            "birthday": "",
            "gender": "unspecified",
            "tags": "",
            "marketing_sms_opt_in": "false",
            "privacy_policy_version": "",
            "registered_at": "2026-02-01 00:05:00",
            "total_spend": "0.00",
            "visits": "0",
            "last_visit": "",
        },
    ]


async def test_the_xlsx_export_holds_the_same_as_the_csv(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    await _exported_members(session, member_shop)
    actor = member_shop.actors[Role.OWNER]
    as_csv = _rows(await transfer.export_members(session, actor, MemberFileFormat.CSV))
    rows = _xlsx_rows(await transfer.export_members(session, actor, MemberFileFormat.XLSX))
    assert rows[0] == list(transfer.COLUMNS)
    expected = [list(row.values()) for row in as_csv]
    expected[1][1] = "=Wang Fang"  # a text cell in XLSX, no quote needed
    assert rows[1:] == expected
    sheet = load_workbook(
        io.BytesIO(await transfer.export_members(session, actor, MemberFileFormat.XLSX))
    ).active
    assert sheet is not None
    assert sheet["B3"].data_type == "s"


async def test_an_export_follows_the_list_filter(session: AsyncSession, member_shop: MemberShop) -> None:
    li, _wang = await _exported_members(session, member_shop)
    content = await transfer.export_members(
        session, member_shop.actors[Role.MANAGER], MemberFileFormat.CSV, MemberFilter(spend_at_least_amount=1)
    )
    assert [row["card_number"] for row in _rows(content)] == [li.card_number]


async def test_only_the_back_office_exports(session: AsyncSession, member_shop: MemberShop) -> None:
    with pytest.raises(PermissionDenied):
        await transfer.export_members(session, member_shop.cashier, MemberFileFormat.CSV)


# --- round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", list(MemberFileFormat))
async def test_export_then_import_recreates_the_members_elsewhere(
    session: AsyncSession, member_shop: MemberShop, file_format: MemberFileFormat
) -> None:
    # given members exported from one organization
    originals = await _exported_members(session, member_shop)
    # Wang Fang withdrew the privacy consent: sign it again so every row can be imported
    await service.record_consent(
        session,
        member_shop.cashier,
        originals[1].id,
        ConsentKind.PRIVACY_POLICY,
        True,
        policy_version="2026-11",
    )
    content = await transfer.export_members(session, member_shop.actors[Role.MANAGER], file_format)
    # when another organization imports the file
    organization = await make_organization(session, name="New owner")
    store = await make_store(session, organization)
    manager = await make_staff(session, store, role=Role.MANAGER)
    actor = Actor(organization.id, manager.id, Role.MANAGER, store.id)
    result = await transfer.import_members(session, actor, content, file_format, store_id=store.id)
    # then the members are there as they were, signed up by import with their consents
    assert (result.created, result.skipped, result.problems) == (2, [], [])
    copies = (
        await session.scalars(
            select(Member).where(Member.organization_id == organization.id).order_by(Member.id)
        )
    ).all()
    fields = (
        "card_number",
        "name",
        "phone_e164",
        "email",
        "birthday",
        "gender",
        "tags",
        "marketing_sms_opt_in",
        "created_at",
    )
    assert [[getattr(copy, name) for name in fields] for copy in copies] == [
        [getattr(original, name) for name in fields] for original in originals
    ]
    for copy in copies:
        assert (copy.registration_source, copy.registered_at_store_id) == (
            RegistrationSource.IMPORT,
            store.id,
        )
        history = await service.list_consents(session, actor, copy.id)
        assert sorted((item.kind, item.is_granted, item.policy_version, item.source) for item in history) == [
            (ConsentKind.MARKETING_SMS, copy.marketing_sms_opt_in, None, ConsentSource.IMPORT),
            (ConsentKind.PRIVACY_POLICY, True, "2026-11", ConsentSource.IMPORT),
        ]
    # and importing the same file again skips every row as a duplicate
    again = await transfer.import_members(session, actor, content, file_format, store_id=store.id)
    assert again.created == 0
    assert [(item.row, item.column) for item in again.skipped] == [(2, "phone"), (3, "phone")]


# --- import rules and problems -------------------------------------------------------------


async def test_an_import_reads_phones_in_the_store_region_and_spreadsheet_values(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    content = _csv(
        "phone,name,privacy_policy_version,birthday,gender,marketing_sms_opt_in,tags,registered_at,address,notes",
        "138-0013-8000,Zhang Wei,v1,1988/2/3,男,是,a|b | ,2026-02-01,1 Road,'=likes tea",
        "+44 20 7946 0958,Sam,v1,,,no,,2026-02-01T08:00:00+00:00,,",
    )
    result = await transfer.import_members(
        session,
        member_shop.actors[Role.MANAGER],
        content,
        MemberFileFormat.CSV,
        store_id=member_shop.store.id,
    )
    assert result.created == 2
    zhang, sam = (
        await session.scalars(
            select(Member).where(Member.organization_id == member_shop.organization.id).order_by(Member.id)
        )
    ).all()
    assert (zhang.phone_e164, zhang.birthday, zhang.gender, zhang.marketing_sms_opt_in, zhang.tags) == (
        "+8613800138000",
        date(1988, 2, 3),
        Gender.MALE,
        True,
        ["a", "b"],
    )
    assert (zhang.created_at, zhang.address, zhang.notes) == (local(2026, 2, 1, 0), "1 Road", "=likes tea")
    assert (sam.phone_e164, sam.marketing_sms_opt_in, sam.created_at) == (
        "+442079460958",
        False,
        local(2026, 2, 1, 16),
    )


async def test_every_problem_names_its_row_and_column_and_nothing_is_imported(
    database: Database, member_shop: MemberShop
) -> None:
    # given a sheet with one good row and many bad ones
    content = _csv(
        "phone,name,privacy_policy_version,email,birthday,gender,marketing_sms_opt_in,card_number,registered_at",
        "13800138001,Good,v1,,,,,,",
        "13800138002,No consent,,,,,,,",
        "12345,Bad phone,v1,,,,,,",
        "13800138004,Bad date,v1,,17.5.1990,,,,",
        "13800138005,Bad gender,v1,,,x,,,",
        "13800138006,Bad opt-in,v1,,,,maybe,,",
        "13800138007,Bad card,v1,,,,,1234567890,",
        "13800138008,Bad email,v1,not-an-email,,,,,",
        "13800138009,Too old,v1,,1800-01-01,,,,",
        "13800138010,,v1,,,,,,",
        "13800138011,Future,v1,,,,,,2099-01-01",
        ",No phone,v1,,,,,,",
    )
    actor = member_shop.actors[Role.MANAGER]
    # when it is imported all or nothing
    with pytest.raises(ValidationFailed) as error:
        async with database.unit_of_work() as session:
            await transfer.import_members(
                session, actor, content, MemberFileFormat.CSV, store_id=member_shop.store.id
            )
    # then each problem names its row and column, and nothing was written
    problems = [(item["row"], item["column"]) for item in error.value.extra["problems"]]
    assert problems == [
        (3, "privacy_policy_version"),
        (4, "phone"),
        (5, "birthday"),
        (6, "gender"),
        (7, "marketing_sms_opt_in"),
        (8, "card_number"),
        (9, "email"),
        (10, "birthday"),
        (11, "name"),
        (12, "registered_at"),
        (13, "phone"),
    ]
    assert [item.field for item in error.value.errors][:2] == [
        "rows.3.privacy_policy_version",
        "rows.4.phone",
    ]
    assert error.value.detail.startswith("nothing was imported: row 3, privacy_policy_version: state the")
    assert "(and 6 more)" in error.value.detail
    async with database.read_only() as session:
        count = await session.scalar(
            select(Member.id).where(Member.organization_id == member_shop.organization.id).limit(1)
        )
    assert count is None


async def test_without_all_or_nothing_the_good_rows_are_imported(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    content = _csv(
        "phone,name,privacy_policy_version",
        "13800138001,Good,v1",
        "13800138002,No consent,",
        "13800138003,Also good,v1",
    )
    result = await transfer.import_members(
        session,
        member_shop.actors[Role.MANAGER],
        content,
        MemberFileFormat.CSV,
        store_id=member_shop.store.id,
        is_all_or_nothing=False,
    )
    assert result.created == 2
    assert result.problems == [
        ImportProblem(3, "privacy_policy_version", "state the privacy policy version the member accepted")
    ]


@pytest.mark.parametrize(
    ("policy", "created", "skipped", "problems"),
    [
        (DuplicatePolicy.SKIP, 1, [(2, "phone"), (4, "phone")], []),
        (DuplicatePolicy.REPORT, 1, [], [(2, "phone"), (4, "phone")]),
    ],
)
async def test_duplicates_are_skipped_or_reported(
    session: AsyncSession,
    member_shop: MemberShop,
    policy: DuplicatePolicy,
    created: int,
    skipped: list[tuple[int, str]],
    problems: list[tuple[int, str]],
) -> None:
    # given a member, and a file that repeats their number in another format and one of its own
    existing = await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    content = _csv(
        "phone,name,privacy_policy_version",
        "+86 138 0013 8000,Li Na,v1",
        "13900139000,Wang Fang,v1",
        "139-0013-9000,Wang Fang again,v1",
    )
    result = await transfer.import_members(
        session,
        member_shop.actors[Role.MANAGER],
        content,
        MemberFileFormat.CSV,
        store_id=member_shop.store.id,
        duplicates=policy,
        is_all_or_nothing=False,
    )
    assert result.created == created
    assert [(item.row, item.column) for item in result.skipped] == skipped
    assert [(item.row, item.column) for item in result.problems] == problems
    reasons = [item.reason for item in result.skipped + result.problems]
    assert reasons == [
        f"a member with this phone number exists already (member {existing.id})",
        "the same phone number as row 3",
    ]


async def test_a_card_number_is_kept_once(session: AsyncSession, member_shop: MemberShop) -> None:
    existing = await make_member(session, member_shop.cashier, member_shop.store)
    free = "100000000" + luhn_check_digit("100000000")
    content = _csv(
        "phone,name,privacy_policy_version,card_number",
        f"13800138001,Taken,v1,{existing.card_number}",
        f"13800138002,Kept,v1,{free}",
        f"13800138003,Twice,v1,{free}",
    )
    result = await transfer.import_members(
        session,
        member_shop.actors[Role.MANAGER],
        content,
        MemberFileFormat.CSV,
        store_id=member_shop.store.id,
        is_all_or_nothing=False,
    )
    assert result.created == 1
    assert [(item.row, item.column, item.reason) for item in result.problems] == [
        (2, "card_number", "another member has this card number"),
        (4, "card_number", "also in row 3"),
    ]
    kept = await session.scalar(select(Member).where(Member.phone_e164 == "+8613800138002"))
    assert kept is not None
    assert kept.card_number == free


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        ("phone,name,colour", [(1, "colour"), (1, "privacy_policy_version")]),
        ("phone,name,name,privacy_policy_version", [(1, "name")]),
    ],
)
async def test_the_header_is_checked_first(
    session: AsyncSession, member_shop: MemberShop, header: str, problems: list[tuple[int, str]]
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await transfer.import_members(
            session,
            member_shop.actors[Role.MANAGER],
            _csv(header, "13800138000,Li Na,v1"),
            MemberFileFormat.CSV,
            store_id=member_shop.store.id,
        )
    assert [(item["row"], item["column"]) for item in error.value.extra["problems"]] == problems


async def test_a_chinese_excel_csv_and_an_xlsx_are_read(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    actor = member_shop.actors[Role.MANAGER]
    gbk = "phone,name,privacy_policy_version\r\n13800138000,李娜,2026-11\r\n".encode("gb18030")
    assert (
        await transfer.import_members(
            session, actor, gbk, MemberFileFormat.CSV, store_id=member_shop.store.id
        )
    ).created == 1
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["phone", "name", "privacy_policy_version", "birthday"])
    sheet.append([13900139000, "王芳", "2026-11", date(1991, 7, 1)])  # a number and a date cell
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = await transfer.import_members(
        session, actor, buffer.getvalue(), MemberFileFormat.XLSX, store_id=member_shop.store.id
    )
    assert result.created == 1
    wang = await session.scalar(select(Member).where(Member.phone_e164 == "+8613900139000"))
    assert wang is not None
    assert (wang.name, wang.birthday) == ("王芳", date(1991, 7, 1))


async def test_a_cashier_may_not_import(session: AsyncSession, member_shop: MemberShop) -> None:
    with pytest.raises(PermissionDenied):
        await transfer.import_members(
            session,
            member_shop.cashier,
            _csv("phone,name,privacy_policy_version"),
            MemberFileFormat.CSV,
            store_id=member_shop.store.id,
        )


# --- the API ------------------------------------------------------------------------------


async def test_export_and_import_through_the_api(shop: Shop) -> None:
    headers = await shop.login(Role.MANAGER)
    content = _csv(
        "phone,name,privacy_policy_version,tags", "13800138000,Li Na,v1,vip", "13900139000,Wang Fang,v1,"
    )
    response = await shop.client.post(
        "/api/v1/members/import",
        files={"file": ("members.csv", content, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 2, "skipped": [], "problems": []}
    exported = await shop.client.get("/api/v1/members/export?format=csv&tag=vip", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == 'attachment; filename="members.csv"'
    assert [row["name"] for row in _rows(exported.content)] == ["Li Na"]
    workbook = await shop.client.get("/api/v1/members/export?format=xlsx", headers=headers)
    assert workbook.headers["content-type"] == transfer.MEDIA_TYPES[MemberFileFormat.XLSX]
    assert sorted(row[1] for row in _xlsx_rows(workbook.content)[1:]) == ["Li Na", "Wang Fang"]
    # again: skipped as duplicates, or reported row by row when asked to
    again = await shop.client.post(
        "/api/v1/members/import?duplicates=report",
        files={"file": ("members.csv", content, "text/csv")},
        headers=headers,
    )
    assert again.status_code == 422
    assert again.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in again.json()["errors"]] == ["rows.2.phone", "rows.3.phone"]


async def test_the_api_needs_a_known_format_and_the_back_office(shop: Shop) -> None:
    manager = await shop.login(Role.MANAGER)
    unknown = await shop.client.post(
        "/api/v1/members/import", files={"file": ("members.txt", b"x", "text/plain")}, headers=manager
    )
    assert unknown.status_code == 422
    assert [error["field"] for error in unknown.json()["errors"]] == ["format"]
    cashier = await shop.login(Role.CASHIER)
    assert (await shop.client.get("/api/v1/members/export", headers=cashier)).status_code == 403
    refused = await shop.client.post(
        "/api/v1/members/import", files={"file": ("members.csv", b"phone", "text/csv")}, headers=cashier
    )
    assert refused.status_code == 403
