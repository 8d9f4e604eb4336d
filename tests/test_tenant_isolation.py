"""No organization reaches another's data: a walk over every operation of the OpenAPI
document, made with the other organization's tokens and this one's ids.

The walk is generated from the document, not a hand list, so an endpoint is covered the
day it is added. Every operation that names one of the victim's rows (in its path, its
query or its body) must answer 403 or 404 to each of the intruder's roles and leave the
whole database as it was; every other operation acts on the intruder's own data and must
not show a trace of the victim's. Operations without a login are listed in PUBLIC: a new
one fails the walk until someone decides it may be public.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Permission, Role
from kassa.core.database import Database
from kassa.notifications import service as notifications
from kassa.notifications.providers.log import LogProvider
from tests.fingerprint import changed_tables, fingerprint
from tests.portal.conftest import Portal, bearer, new_phone
from tests.reservations.conftest import local, tomorrow
from tests.shop import Shop

API = "/api/v1"
MARKER = "ZZVICTIM"
VICTIM_PHONE = "13912345678"
ROLES = (Role.OWNER, Role.MANAGER, Role.CASHIER, Role.WAITER)

# Operations anyone may call without a login, each with why. A store's public page and
# its portal sign-in take the store id from the URL by design; webhooks and notifications
# carry a signature or a token of their own (tested in their capabilities).
PUBLIC = {
    "POST /api/v1/auth/pin",
    "POST /api/v1/auth/password",
    "GET /api/v1/registers/{register_id}/staff",
    "POST /api/v1/payments/notifications/{tender}/{store_id}",
    "POST /api/v1/notifications/webhooks/{provider}/inbound",
    "POST /api/v1/notifications/webhooks/{provider}/delivery",
    "GET /api/v1/stores/{store_id}/reservations/availability",
    "GET /api/v1/portal/stores/{store_id}",
    "POST /api/v1/portal/stores/{store_id}/request-code",
    "POST /api/v1/portal/stores/{store_id}/verify-code",
    "POST /api/v1/portal/stores/{store_id}/register",
    "POST /api/v1/portal/stores/{store_id}/login",
    "POST /api/v1/telephony/pair",
    "GET /healthz",
    "GET /readyz",
}
# Ending the intruder's own session would end the walk; it is walked last.
LAST = {"POST /api/v1/auth/logout", "POST /api/v1/portal/logout", "DELETE /api/v1/portal/me"}

_keys = itertools.count(1)


@dataclass
class Victim:
    """The rows of the organization under attack, by the names ids go by in the API."""

    ids: dict[str, Any] = field(default_factory=dict)
    bill_version: int = 0


async def _paid_takeaway(shop: Shop, product: str = "cake") -> dict[str, Any]:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, product)
    return await shop.pay(bill, "card", approval_code="A1")


async def _populate(shop: Shop, portal: Portal) -> Victim:
    """One of each kind of row the API takes an id of, made through the API."""
    victim = Victim()
    ids = victim.ids
    ids.update(
        store_id=shop.store_id,
        register_id=shop.register_ids[0],
        staff_id=shop.staff_ids[Role.CASHIER],
        manager_staff_id=shop.staff_ids[Role.MANAGER],
        table_id=shop.table_ids[1],
        product_id=shop.products["latte"],
        option_id=shop.size_options["Large"],
        tender="wechat_pay",
        provider="log",
    )
    latte = await shop.call("GET", f"/catalog/products/{shop.products['latte']}")
    ids["category_id"] = latte["category_id"]
    ids["group_id"] = (await shop.call("GET", "/catalog/modifier-groups", role=Role.MANAGER))[0]["id"]
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": VICTIM_PHONE,
            "name": f"{MARKER} Member",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
        expect=201,
    )
    ids["member_id"] = member["id"]
    definition = await shop.call(
        "POST",
        "/loyalty/coupon-definitions",
        {"name": f"{MARKER} coupon", "discount_kind": "amount", "discount_amount": 500, "valid_days": 30},
        role=Role.OWNER,
        expect=201,
    )
    ids["definition_id"] = definition["id"]
    coupon = await shop.call(
        "POST", f"/members/{member['id']}/coupons", {"definition_id": definition["id"]}, expect=201
    )
    ids["code"] = coupon["code"]
    # An open dine-in bill with lines sent to the kitchen.
    bill = await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 2}
    )
    bill = await shop.add(bill, "latte", modifier_option_ids=[shop.size_options["Large"]])
    bill = await shop.add(bill, "cake")
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    ids["bill_id"] = bill["id"]
    ids["line_id"] = bill["lines"][0]["id"]
    victim.bill_version = bill["version"]
    # A paid bill with a return waiting for approval, and one refunded.
    paid = await _paid_takeaway(shop)
    ids["payment_id"] = paid["payments"][0]["id"]
    ids["paid_bill_id"] = paid["id"]
    pending = await shop.call(
        "POST",
        f"/bills/{paid['id']}/returns",
        {"lines": [{"line_id": paid["lines"][0]["id"], "quantity": 1}], "reason_code": "quality"},
        expect=201,
    )
    ids["return_id"] = pending["id"]
    refunded = await _paid_takeaway(shop)
    approved = await shop.call(
        "POST",
        f"/bills/{refunded['id']}/returns",
        {"lines": [{"line_id": refunded["lines"][0]["id"], "quantity": 1}], "reason_code": "quality"},
        expect=201,
    )
    approved = await shop.call("POST", f"/returns/{approved['id']}/approve", {})
    ids["refund_id"] = approved["refunds"][0]["id"]
    shift = await shop.call(
        "POST", f"/registers/{shop.register_ids[1]}/shifts", {"amount": 10_000}, register_index=1
    )
    ids["shift_id"] = shift["id"]
    reservation = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/reservations",
        {
            "party_size": 2,
            "starts_at": local(tomorrow(), "19:00").isoformat(),
            "customer_name": f"{MARKER} Guest",
            "customer_phone": VICTIM_PHONE,
            "table_ids": [shop.table_ids[2]],
        },
        expect=201,
    )
    ids["reservation_id"] = reservation["id"]
    pairing = await shop.call(
        "POST", f"/registers/{shop.register_ids[0]}/phone-pairing-codes", {}, role=Role.MANAGER
    )
    paired = await shop.client.post(
        f"{API}/telephony/pair", json={"code": pairing["code"], "device_name": "Phone"}
    )
    assert paired.status_code == 201, paired.text
    ids["assistant_id"] = paired.json()["assistant_id"]
    call = await shop.client.post(
        f"{API}/telephony/calls",
        json={"number": VICTIM_PHONE},
        headers=bearer(paired.json()["token"]),
    )
    assert call.status_code in (200, 201), call.text
    ids["call_id"] = call.json()["call_id"]
    devices = await shop.call("GET", "/register-devices", role=Role.MANAGER)
    ids["device_id"] = devices[0]["id"]  # type: ignore[index]
    key = await shop.call(
        "POST",
        "/api-keys",
        {"name": "Victim shop", "permissions": ["bill.open"], "store_ids": [shop.store_id]},
        role=Role.OWNER,
    )
    ids["api_key_id"] = key["id"]
    await portal.send_outbox()
    return victim


# Body and query fields that carry an id, mapped to the victim's row of that kind.
ID_FIELDS = {
    "store_id": "store_id",
    "registered_at_store_id": "store_id",
    "register_id": "register_id",
    "bill_id": "bill_id",
    "source_bill_id": "paid_bill_id",
    "target_bill_id": "bill_id",
    "into_bill_id": "bill_id",
    "line_id": "line_id",
    "member_id": "member_id",
    "product_id": "product_id",
    "category_id": "category_id",
    "group_id": "group_id",
    "option_id": "option_id",
    "definition_id": "definition_id",
    "birthday_coupon_definition_id": "definition_id",
    "table_id": "table_id",
    "shift_id": "shift_id",
    "return_id": "return_id",
    "reservation_id": "reservation_id",
    "except_reservation_id": "reservation_id",
    "assistant_id": "assistant_id",
    "call_id": "call_id",
    "device_id": "device_id",
    "api_key_id": "api_key_id",
    "payment_id": "payment_id",
    "refund_id": "refund_id",
    "staff_id": "staff_id",
    "approver_staff_id": "manager_staff_id",
    "manager_staff_id": "manager_staff_id",
}
ID_LIST_FIELDS = {
    "line_ids": "line_id",
    "member_ids": "member_id",
    "product_ids": "product_id",
    "table_ids": "table_id",
    "modifier_option_ids": "option_id",
    "modifier_group_ids": "group_id",
    "excluded_category_ids": "category_id",
}


# Where the sampled body would fail validation before the service ever looked at the ids:
# the values that make it a request the victim's own staff could make.
BODY_PATCHES: dict[str, dict[str, Any]] = {
    "POST /api/v1/bills": {"guest_count": 2},
    "POST /api/v1/bills/{bill_id}/discount": {"basis_points": 1000, "reason": "walk"},
    "POST /api/v1/bills/{bill_id}/lines/{line_id}/discount": {"basis_points": 1000, "reason": "walk"},
    "POST /api/v1/bills/{bill_id}/payments": {"tender": "cash", "tendered_amount": 100_000},
    "POST /api/v1/loyalty/coupon-definitions": {"discount_amount": 500, "valid_days": 30},
    "POST /api/v1/catalog/products": {"vat_rate_code": "standard"},
}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    json: Any = None
    files: dict[str, Any] | None = None
    victim_fields: set[str] = field(default_factory=set)
    path_fields: set[str] = field(default_factory=set)

    @property
    def names_victim(self) -> bool:
        return bool(self.victim_fields)

    def is_refused(self, response: httpx.Response) -> bool:
        """403 or 404; or 422 where every field at fault carries one of the victim's ids
        (a service that checks all references at once answers that way)."""
        if response.status_code in (403, 404):
            return True
        if response.status_code != 422:
            return False
        fields = {str(error.get("field", "")).split(".")[0] for error in response.json().get("errors", [])}
        return bool(fields) and fields <= self.victim_fields - self.path_fields


class Sampler:
    """Fills an operation's parameters and body from the OpenAPI document: ids with the
    victim's, everything else with a plausible value, so a missing scope check would let
    the request through rather than fail on validation."""

    def __init__(self, document: dict[str, Any], victim: Victim) -> None:
        self.document = document
        self.victim = victim
        self.victim_fields: set[str] = set()

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.document["components"]["schemas"][name]
        return schema

    def id_for(self, name: str) -> Any:
        if name in ID_FIELDS and self.victim.ids.get(ID_FIELDS[name]) is not None:
            self.victim_fields.add(name)
            return self.victim.ids[ID_FIELDS[name]]
        if name.endswith("_staff_id"):
            self.victim_fields.add(name)
            return self.victim.ids["manager_staff_id"]
        return None

    def value(self, name: str, schema: dict[str, Any], *, depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if name in ID_LIST_FIELDS:
            self.victim_fields.add(name)
            return [self.victim.ids[ID_LIST_FIELDS[name]]]
        victim_id = self.id_for(name)
        if victim_id is not None:
            return victim_id
        if name == "version":
            return self.victim.bill_version
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(option) for option in schema[key] if option.get("type") != "null"]
                return self.value(name, options[0], depth=depth) if options else None
        if "allOf" in schema:
            return self.value(name, schema["allOf"][0], depth=depth)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self.body(schema, depth=depth + 1)
        if kind == "array":
            items = self.resolve(schema.get("items", {}))
            return [self.value(name.removesuffix("s"), items, depth=depth + 1)]
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
        if kind == "number":
            return 1
        if kind == "boolean":
            return True
        return self.text(name, schema)

    def text(self, name: str, schema: dict[str, Any]) -> str:
        shape = schema.get("format")
        if shape == "date":
            return (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        if shape == "date-time":
            return (datetime.now(UTC) + timedelta(days=1)).isoformat()
        if "phone" in name or name == "to":
            return VICTIM_PHONE
        if "email" in name:
            return "someone@example.com"
        if "pin" in name:
            return "2222"
        if name == "code":
            return str(self.victim.ids["code"])
        if name == "currency":
            return "CNY"
        text = "walk"
        minimum = int(schema.get("minLength", 0))
        return (text * (minimum // len(text) + 1))[: max(minimum, len(text))]

    def body(self, schema: dict[str, Any], *, depth: int = 0) -> dict[str, Any]:
        schema = self.resolve(schema)
        required = set(schema.get("required", []))
        filled: dict[str, Any] = {}
        for name, property_schema in schema.get("properties", {}).items():
            is_id = name in ID_FIELDS or name in ID_LIST_FIELDS or name.endswith("_staff_id")
            if name in required or (is_id and depth < 3):
                filled[name] = self.value(name, property_schema, depth=depth)
        return filled


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _request(
    document: dict[str, Any], victim: Victim, method: str, path: str, operation: dict[str, Any]
) -> Request:
    sampler = Sampler(document, victim)
    params: dict[str, Any] = {}
    headers: dict[str, str] = {}
    filled_path = path
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            value = sampler.id_for(name)
            if value is None:
                value = victim.ids.get(name) or sampler.value(name, parameter.get("schema", {}))
            filled_path = filled_path.replace("{" + name + "}", str(value))
        elif where == "query":
            value = sampler.id_for(name)
            if value is not None:
                params[name] = value
            elif parameter.get("required"):
                params[name] = sampler.value(name, parameter.get("schema", {}))
        elif where == "header" and name.lower() == "idempotency-key":
            headers[name] = f"walk-key-{next(_keys):08d}"
    path_fields = {
        parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "path"
    }
    request = Request(method, filled_path, params, headers, path_fields=path_fields)
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        request.json = sampler.value("body", content["application/json"]["schema"])
    elif "multipart/form-data" in content:
        form = sampler.resolve(content["multipart/form-data"]["schema"])
        request.files = {name: ("walk.csv", b"name\n", "text/csv") for name in form.get("properties", {})}
    request.victim_fields = sampler.victim_fields
    if isinstance(request.json, dict):
        request.json.update(BODY_PATCHES.get(f"{method} {path}", {}))
    return request


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@pytest.fixture
def portal(shop: Shop, database: Database, sms: LogProvider) -> Portal:
    return Portal(shop, database, sms)


@pytest.fixture
async def intruder_tokens(other_shop: Shop, portal: Portal, sms: LogProvider) -> dict[str, dict[str, str]]:
    """The other organization's logins: staff of each role, an API key with every permission a
    key may hold, a member of its portal, a phone."""
    tokens = {role.value: await other_shop.login(role) for role in ROLES}
    intruder_portal = Portal(other_shop, portal.database, sms)
    tokens["member"] = await intruder_portal.sign_up(new_phone(), name="Intruder")
    pairing = await other_shop.call(
        "POST", f"/registers/{other_shop.register_ids[0]}/phone-pairing-codes", {}, role=Role.MANAGER
    )
    paired = await other_shop.client.post(
        f"{API}/telephony/pair", json={"code": pairing["code"], "device_name": "P"}
    )
    tokens["phone"] = bearer(paired.json()["token"])
    key = await other_shop.call(
        "POST",
        "/api-keys",
        {
            "name": "Intruder integration",
            "permissions": [
                permission.value for permission in Permission if permission != Permission.API_KEY_MANAGE
            ],
            "store_ids": [other_shop.store_id],
        },
        role=Role.OWNER,
    )
    tokens["api_key"] = bearer(key["key"])
    return tokens


def _logins_for(path: str, method: str, tokens: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    if path.startswith(f"{API}/portal/me"):
        return {"member": tokens["member"]}
    if (method, path) == ("POST", f"{API}/telephony/calls"):
        return {"phone": tokens["phone"]}
    return {**{role.value: tokens[role.value] for role in ROLES}, "api_key": tokens["api_key"]}


async def _send(client: httpx.AsyncClient, request: Request, login: dict[str, str]) -> httpx.Response:
    return await client.request(
        request.method,
        request.path,
        params=request.params,
        headers={**request.headers, **login},
        json=request.json,
        files=request.files,
    )


async def test_no_operation_reaches_another_organizations_data(
    shop: Shop,
    other_shop: Shop,
    portal: Portal,
    intruder_tokens: dict[str, dict[str, str]],
    session: AsyncSession,
    database: Database,
) -> None:
    victim = await _populate(shop, portal)
    document = (await shop.client.get("/api/openapi.json")).json()
    operations = sorted(
        _operations(document), key=lambda item: (f"{item[0]} {item[1]}" in LAST, item[1], item[0])
    )
    failures: list[str] = []
    unlisted_public = []
    walked = 0
    for method, path, operation in operations:
        name = f"{method} {path}"
        if "security" not in operation:
            if name not in PUBLIC:
                unlisted_public.append(name)
            continue
        request = _request(document, victim, method, path, operation)
        before = await fingerprint(session)
        for login_name, login in _logins_for(path, method, intruder_tokens).items():
            response = await _send(shop.client, request, login)
            walked += 1
            if request.names_victim:
                if not request.is_refused(response):
                    failures.append(f"{name} as {login_name}: {response.status_code} {response.text[:300]}")
            elif response.status_code >= 500 or MARKER in response.text or VICTIM_PHONE[-8:] in response.text:
                failures.append(f"{name} as {login_name} shows the victim: {response.status_code}")
        if request.names_victim:
            changed = changed_tables(before, await fingerprint(session))
            if changed:
                failures.append(f"{name} changed {changed}")
    assert unlisted_public == [], "operations without a login that PUBLIC does not list"
    assert walked > 400
    assert failures == [], "\n".join(failures)
