"""Schema-driven fuzzing of every operation (schemathesis): no input gives a server error, and
every answer has a status, a content type and a body that the OpenAPI document declares.

A bounded number of cases per operation, positive (fits the schema) and negative (breaks it),
is generated first, derandomized so a run is repeatable; then all of them are sent against
one shop, logged in as its owner. A new endpoint is fuzzed the day it is added.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kassa.core.auth import Role
from tests.shop import Shop

POSITIVE_EXAMPLES = 5
NEGATIVE_EXAMPLES = 3
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Sent last: they end the owner's session or take the owner's login away.
LAST = re.compile(r"/auth/logout|/staff/\{staff_id\}")
BASE_URL = "http://kassa.test"


def _generate(document: dict[str, Any], known_ids: dict[str, int]) -> list[Case]:
    schema = schemathesis.openapi.from_dict(document)
    cases: list[Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {parameter.name for parameter in operation.path_parameters}
        for mode, count in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            fixed = {name: value for name, value in known_ids.items() if name in names}
            strategy = operation.as_strategy(
                generation_mode=mode,
                path_parameters=fixed if mode is GenerationMode.POSITIVE and fixed else None,
            )

            @given(strategy)
            @settings(
                max_examples=count,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def collect(case: Case) -> None:
                cases.append(case)

            try:
                collect()
            except HypothesisException:
                # Nothing negative can be made of an operation without parameters or a body.
                continue
    cases.sort(key=lambda case: bool(LAST.search(case.operation.path)))
    return cases


def _httpx_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": dict(kwargs.get("headers") or {}),
        "params": kwargs.get("params"),
    }
    if "json" in kwargs:
        arguments["json"] = kwargs["json"]
    if kwargs.get("files"):
        arguments["files"] = kwargs["files"]
        if isinstance(kwargs.get("data"), dict):
            arguments["data"] = kwargs["data"]
    elif "data" in kwargs and kwargs["data"] is not None:
        data = kwargs["data"]
        if isinstance(data, str | bytes):
            arguments["content"] = data
        else:
            arguments["data"] = data
    return arguments


def _described(failure: Exception) -> str:
    lines = [line for line in str(failure).splitlines() if line.strip()]
    return " / ".join(lines[:3]) or type(failure).__name__


def _shown(request: httpx.Request) -> str:
    try:
        return repr(request.content[:300])
    except httpx.RequestNotRead:
        return "(multipart)"


async def test_no_input_gives_a_server_error_or_an_undocumented_answer(shop: Shop) -> None:
    auth = await shop.login(Role.OWNER)
    bill = await shop.open_takeaway()
    known_ids = {
        "store_id": shop.store_id,
        "register_id": shop.register_ids[0],
        "product_id": shop.products["latte"],
        "bill_id": bill["id"],
        "table_id": shop.table_ids[0],
    }
    document = (await shop.client.get("/api/openapi.json")).json()
    cases = _generate(document, known_ids)
    failures: list[str] = []
    for case in cases:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=auth)
        try:
            request = shop.client.build_request(**_httpx_arguments(kwargs))
            request.read()  # multipart bodies are streams; the checks read the request again
        except (UnicodeEncodeError, ValueError, TypeError, AttributeError, httpx.InvalidURL):
            continue  # not sendable over HTTP at all: a client-side impossibility, not a server finding
        try:
            response = await shop.client.send(request)
        except Exception as error:  # the test transport raises what the app did not handle
            failures.append(
                f"{case.method} {case.operation.path} raised {error!r}\n"
                f"    {request.url} body={_shown(request)}"
            )
            continue
        try:
            case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])
        except FailureGroup as group:  # check failures: collect them all, report at the end
            first_line = "; ".join(_described(failure) for failure in group.exceptions)
            failures.append(
                f"{case.method} {case.operation.path} -> {response.status_code}: {first_line}\n"
                f"    {request.method} {request.url} body={_shown(request)}\n"
                f"    answer={response.text[:300]}"
            )
    assert len(cases) > 100
    assert failures == [], f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)
