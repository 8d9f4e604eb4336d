"""A full sale at the counter over HTTP, as the register does it: open a takeaway bill,
add three lines, pay part in cash and the rest by card (which closes the bill).

Six requests per sale, each with its own unit of work; the payments carry idempotency keys.
Prints sales per second and the latency of a whole sale (p50/p99).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from bench.harness import BenchClient, database_urls, pin_login, run_load, running_server

CLIENTS = 32
SECONDS = 15.0
_keys = itertools.count()


async def _sale_items(http: BenchClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Three lines as a cashier rings them up: products whose stock is not counted (so the
    run never sells out), with the first option of every required modifier group."""
    menu = (await http.get("/api/v1/catalog/stores/1/menu", headers=headers)).json()
    items = []
    for category in menu["categories"]:
        for product in category["products"]:
            if (
                product["stock_quantity"] is not None
                or product["is_sold_out"]
                or product["kind"] != "standard"
            ):
                continue
            options = [
                option["id"]
                for group in product["modifier_groups"]
                if group["is_required"]
                for option in group["options"][: max(1, group["min_choices"])]
            ]
            items.append({"product_id": product["id"], "modifier_option_ids": options})
    if len(items) < 3:
        raise RuntimeError("the demo menu needs three products without stock counts for this benchmark")
    return items[:3]


async def _operation(http: BenchClient, index: int) -> Callable[[], Awaitable[bool]]:
    # Half the clients on each register, each as the cashier of the demo store.
    register_id = 1 + index % 2
    headers = await pin_login(http, register_id, staff_id=3, pin="3333")
    items = await _sale_items(http, headers)

    async def sale() -> bool:
        response = await http.post("/api/v1/bills", json={"order_type": "takeaway"}, headers=headers)
        if response.status_code != 201:
            return False
        bill = response.json()
        for item in items:
            response = await http.post(
                f"/api/v1/bills/{bill['id']}/lines",
                json={"version": bill["version"], **item},
                headers=headers,
            )
            if response.status_code != 201:
                return False
            bill = response.json()
        cash_part = bill["total_amount"] // 2
        response = await http.post(
            f"/api/v1/bills/{bill['id']}/payments",
            json={
                "version": bill["version"],
                "tender": "cash",
                "amount": cash_part,
                "tendered_amount": cash_part,
                "close_when_paid": False,
            },
            headers={**headers, "Idempotency-Key": f"bench-{index}-{next(_keys)}"},
        )
        if response.status_code != 201:
            return False
        bill = response.json()
        response = await http.post(
            f"/api/v1/bills/{bill['id']}/payments",
            json={"version": bill["version"], "tender": "card", "approval_code": "BENCH"},
            headers={**headers, "Idempotency-Key": f"bench-{index}-{next(_keys)}"},
        )
        return response.status_code == 201 and response.json()["status"] == "closed"

    return sale


async def _one_request_operation(http: BenchClient, index: int) -> Callable[[], Awaitable[bool]]:
    """The same sale through ``POST /api/v1/sales``: one request, one unit of work."""
    register_id = 1 + index % 2
    headers = await pin_login(http, register_id, staff_id=3, pin="3333")
    items = await _sale_items(http, headers)
    # The demo's first three items cost 18 + 24 + 24 = 66.00 with their default options.
    body = {
        "order_type": "takeaway",
        "lines": items,
        "tenders": [
            {"tender": "cash", "amount": 3000, "tendered_amount": 3000},
            {"tender": "card", "approval_code": "BENCH"},
        ],
    }

    async def sale() -> bool:
        response = await http.post(
            "/api/v1/sales", json=body, headers={**headers, "Idempotency-Key": f"bench-{index}-{next(_keys)}"}
        )
        return response.status_code == 201 and response.json()["status"] == "closed"

    return sale


def main() -> None:
    for database, url in database_urls().items():
        # PostgreSQL also with the API in two processes (`kassa api --workers 2`).
        for api_workers in (0, 2) if database == "postgresql" else (0,):
            setup = f"{database}, {api_workers} API processes" if api_workers else f"{database}, 1 process"
            with running_server(database, url, api_workers=api_workers) as base_url:
                result = asyncio.run(run_load(CLIENTS, SECONDS, _operation, base_url))
                print(f"checkout         {setup:<28} {CLIENTS} clients: {result.summary('sales')}")
                result = asyncio.run(run_load(CLIENTS, SECONDS, _one_request_operation, base_url))
                print(f"checkout (1 req) {setup:<28} {CLIENTS} clients: {result.summary('sales')}")


if __name__ == "__main__":
    main()
