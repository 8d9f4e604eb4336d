"""Every integer a request carries has both bounds, every text a maximum length, and every
JSON object refuses fields it does not know.

The walk covers the whole OpenAPI document (bodies, path and query parameters), so a new
endpoint is checked the day it is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kassa.core.settings import Settings
from kassa.web.app import create_app

METHODS = {"get", "post", "put", "patch", "delete"}


def _document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _leaves(
    document: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, []):
            yield from _leaves(document, member, where, seen)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        yield where, schema
        for name, member in schema.get("properties", {}).items():
            yield from _leaves(document, member, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from _leaves(document, extra, f"{where}.*", seen)
    elif kind == "array":
        yield from _leaves(document, schema.get("items", {}), f"{where}[]", seen)
    elif kind in {"integer", "string"}:
        yield where, schema


def _problem(schema: dict[str, Any]) -> str | None:
    if schema.get("properties") and schema.get("additionalProperties") is not False:
        return "object that takes unknown fields (use RequestModel)"
    if schema.get("type") == "integer" and not ("minimum" in schema and "maximum" in schema):
        return "integer without both minimum and maximum"
    if (
        schema.get("type") == "string"
        and "enum" not in schema
        and "const" not in schema
        and schema.get("format") not in {"date", "date-time", "binary"}
        and "contentMediaType" not in schema
        and "maxLength" not in schema
    ):
        return "string without maxLength"
    return None


def unbounded_request_fields(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                for where, schema in _leaves(
                    document, parameter.get("schema", {}), parameter["name"], frozenset()
                ):
                    problem = _problem(schema)
                    if problem:
                        found.append(f"{label} {parameter['in']} {where}: {problem}")
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                for where, schema in _leaves(document, media.get("schema", {}), "body", frozenset()):
                    problem = _problem(schema)
                    # A form's fields are FastAPI's own; unknown form fields are never read.
                    if problem and (media_type == "application/json" or "properties" not in schema):
                        found.append(f"{label} {where}: {problem}")
    return sorted(set(found))


def test_every_integer_and_text_of_a_request_is_bounded() -> None:
    found = unbounded_request_fields(_document())
    assert found == [], "\n".join(found)


def test_the_walk_finds_an_unbounded_field() -> None:
    document = {
        "paths": {
            "/x/{x_id}": {
                "post": {
                    "parameters": [{"name": "x_id", "in": "path", "schema": {"type": "integer"}}],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "X": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "amount": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
                        "ok": {"type": "string", "maxLength": 3},
                    },
                }
            }
        },
    }
    assert unbounded_request_fields(document) == [
        "POST /x/{x_id} body.amount: integer without both minimum and maximum",
        "POST /x/{x_id} body.name: string without maxLength",
        "POST /x/{x_id} body: object that takes unknown fields (use RequestModel)",
        "POST /x/{x_id} path x_id: integer without both minimum and maximum",
    ]
