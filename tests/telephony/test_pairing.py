"""Pairing a phone with a register: a short code the register shows, traded once for a
device token of which only the digest is kept; unpairing revokes the token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role, token_digest
from kassa.core.database import utc_now
from kassa.telephony.models import PhoneAssistant, PhonePairingCode
from tests.fingerprint import unchanged
from tests.shop import Shop
from tests.telephony.conftest import call_in, get_list, pair, pair_phone, pairing_code, ring


def _problem_fields(body: dict[str, object]) -> list[object]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [error["field"] for error in errors]


async def test_a_phone_pairs_with_the_register_that_showed_the_code(
    shop: Shop, session: AsyncSession
) -> None:
    code = await pairing_code(shop, register_index=1)
    assert len(code) == 6
    assert code.isdigit()

    response = await pair(shop, code, "  Front   desk phone ")

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["register_id"], body["store_id"]) == (shop.register_ids[1], shop.store_id)
    assistant = await session.get(PhoneAssistant, body["assistant_id"])
    assert assistant is not None
    assert assistant.name == "Front desk phone"
    assert assistant.register_id == shop.register_ids[1]
    assert assistant.paired_by_staff_id == shop.staff_ids[Role.MANAGER]
    # Only the token's digest is stored, never the token (nor the code)
    assert assistant.token_digest == token_digest(body["token"])
    assert body["token"] not in assistant.token_digest
    stored_codes = (await session.scalars(select(PhonePairingCode.code_digest))).all()
    assert code not in stored_codes
    assert token_digest(code) in stored_codes


async def test_a_code_expires_after_ten_minutes(shop: Shop, session: AsyncSession) -> None:
    code = await pairing_code(shop)
    row = await session.scalar(
        select(PhonePairingCode).where(PhonePairingCode.code_digest == token_digest(code))
    )
    assert row is not None
    assert timedelta(minutes=9, seconds=50) < row.expires_at - row.created_at <= timedelta(minutes=10)
    await session.execute(
        update(PhonePairingCode).where(PhonePairingCode.id == row.id).values(expires_at=utc_now())
    )
    await session.commit()

    response = await pair(shop, code)

    assert response.status_code == 422
    assert _problem_fields(response.json()) == ["code"]
    assert "expired" in response.json()["detail"]


async def test_a_used_code_cannot_pair_a_second_phone(shop: Shop) -> None:
    code = await pairing_code(shop)
    assert (await pair(shop, code, "Phone 1")).status_code == 201

    response = await pair(shop, code, "Phone 2")

    assert response.status_code == 409
    assert _problem_fields(response.json()) == ["code"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "000000", "device_name": "Phone"}, "code"),  # no register shows it
        ({"code": "12ab56", "device_name": "Phone"}, "code"),
        ({"code": "1234567", "device_name": "Phone"}, "code"),
        ({"code": "123456", "device_name": "   "}, "device_name"),
        ({"code": "123456"}, "device_name"),
    ],
)
async def test_a_wrong_request_is_refused_naming_the_field(
    shop: Shop, body: dict[str, str], field: str
) -> None:
    await pairing_code(shop)  # some code exists; not these
    response = await shop.client.post("/api/v1/telephony/pair", json=body)
    assert response.status_code == 422
    assert field in _problem_fields(response.json())


async def test_spaces_and_dashes_in_a_typed_code_do_not_matter(shop: Shop) -> None:
    code = await pairing_code(shop)
    response = await pair(shop, f"{code[:3]} {code[3:]}")
    assert response.status_code == 201, response.text


async def test_a_new_code_replaces_the_one_the_register_showed(shop: Shop) -> None:
    first = await pairing_code(shop)
    second = await pairing_code(shop)
    if first != second:  # one in a million draws the same code again
        assert (await pair(shop, first)).status_code == 422
    assert (await pair(shop, second)).status_code == 201


async def test_guessing_codes_is_throttled(shop: Shop) -> None:
    code = await pairing_code(shop)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(10):
        assert (await pair(shop, wrong)).status_code == 422
    # Now even the right code waits: the address guessed too often
    response = await pair(shop, code)
    assert response.status_code == 429
    assert _problem_fields(response.json()) == ["code"]


@pytest.mark.parametrize("role", [Role.CASHIER, Role.WAITER])
async def test_only_managers_and_owners_pair_phones(shop: Shop, session: AsyncSession, role: Role) -> None:
    await shop.login(role)
    async with unchanged(session):
        await shop.call(
            "POST", f"/registers/{shop.register_ids[0]}/phone-pairing-codes", role=role, expect=403
        )


async def test_one_store_may_pair_several_phones_even_with_one_register(shop: Shop) -> None:
    tokens = [await pair_phone(shop, 0, "Phone A"), await pair_phone(shop, 0, "Phone B")]
    tokens.append(await pair_phone(shop, 1, "Phone C"))
    listed = await get_list(shop, f"/stores/{shop.store_id}/phone-assistants", role=Role.MANAGER)
    assert sorted((row["register_id"], row["name"]) for row in listed) == [
        (shop.register_ids[0], "Phone A"),
        (shop.register_ids[0], "Phone B"),
        (shop.register_ids[1], "Phone C"),
    ]
    for token in tokens:
        assert (await ring(shop, token, "13800138000")).status_code == 201


async def test_an_unpaired_phone_is_refused(shop: Shop) -> None:
    token = await pair_phone(shop)
    await call_in(shop, token, "13800138000")
    (assistant,) = await get_list(shop, f"/stores/{shop.store_id}/phone-assistants", role=Role.MANAGER)

    revoked = await shop.call("POST", f"/telephony/assistants/{assistant['id']}/revoke", role=Role.MANAGER)

    assert revoked["revoked_at"] is not None
    response = await ring(shop, token, "13800138000")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await get_list(shop, f"/stores/{shop.store_id}/phone-assistants", role=Role.MANAGER) == []
    listed = await get_list(
        shop, f"/stores/{shop.store_id}/phone-assistants?include_revoked=true", Role.MANAGER
    )
    assert [row["id"] for row in listed] == [assistant["id"]]


async def test_cashiers_cannot_unpair(shop: Shop) -> None:
    await pair_phone(shop)
    (assistant,) = await get_list(shop, f"/stores/{shop.store_id}/phone-assistants", role=Role.MANAGER)
    await shop.call("POST", f"/telephony/assistants/{assistant['id']}/revoke", expect=403)


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "staff"])
async def test_calls_need_a_phone_token(shop: Shop, header: str | None) -> None:
    headers = {}
    if header == "staff":
        headers = await shop.login(Role.MANAGER)  # a staff session is no phone
    elif header is not None:
        headers = {"Authorization": header}
    response = await shop.client.post(
        "/api/v1/telephony/calls", json={"number": "13800138000"}, headers=headers
    )
    assert response.status_code == 401


async def test_a_phone_token_is_no_staff_login(shop: Shop) -> None:
    token = await pair_phone(shop)
    response = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/calls", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
