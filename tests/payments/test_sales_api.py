"""A whole counter sale in one request: all of it, once, or nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.orders.models import Bill
from kassa.payments.models import Payment
from tests.orders.test_bills_api import stock_of
from tests.shop import Shop, new_key


def _sale(shop: Shop, *tenders: dict[str, object]) -> dict[str, object]:
    return {
        "order_type": "takeaway",
        "lines": [
            {"product_id": shop.products["latte"], "modifier_option_ids": [shop.size_options["Large"]]},
            {"product_id": shop.products["cake"], "quantity": 2},
        ],
        "tenders": list(tenders),
    }  # 27.00 + 2 x 28.00 = 83.00


async def test_a_sale_opens_adds_pays_and_closes_in_one_request(shop: Shop) -> None:
    bill = await shop.call(
        "POST",
        "/sales",
        _sale(
            shop,
            {"tender": "cash", "amount": 3000, "tendered_amount": 3000},
            {"tender": "card", "approval_code": "77"},
        ),
        key=new_key(),
        expect=201,
    )
    assert (bill["status"], bill["total_amount"], bill["paid_amount"]) == ("closed", 8300, 8300)
    assert [(payment["tender"], payment["amount"]) for payment in bill["payments"]] == [
        ("cash", 3000),
        ("card", 5300),
    ]
    assert [line["total_amount"] for line in bill["lines"]] == [2700, 5600]


async def test_cash_alone_rounds_like_the_register(shop: Shop) -> None:
    body = _sale(shop, {"tender": "cash", "tendered_amount": 10000})
    bill = await shop.call("POST", "/sales", body, key=new_key(), expect=201)
    assert (bill["payments"][0]["change_amount"], bill["status"]) == (1700, "closed")


async def test_the_same_key_records_the_sale_once(shop: Shop, session: AsyncSession) -> None:
    key = new_key()
    body = _sale(shop, {"tender": "card", "approval_code": "1"})
    first = await shop.call("POST", "/sales", body, key=key, expect=201)
    again = await shop.call("POST", "/sales", body, key=key, expect=201)
    assert first["id"] == again["id"]
    assert await session.scalar(select(func.count(Bill.id))) == 1


async def test_an_underpaid_sale_stores_nothing(shop: Shop, session: AsyncSession) -> None:
    body = _sale(shop, {"tender": "card", "amount": 1000, "approval_code": "1"})
    refused = await shop.call("POST", "/sales", body, key=new_key(), expect=409)
    assert refused["amount_due"] == 7300
    assert await session.scalar(select(func.count(Bill.id))) == 0
    assert await session.scalar(select(func.count(Payment.id))) == 0


async def test_wallets_are_paid_step_by_step(shop: Shop) -> None:
    body = _sale(shop, {"tender": "alipay"})
    refused = await shop.call("POST", "/sales", body, key=new_key(), expect=422)
    assert refused["errors"][0]["field"] == "tenders.0.tender"


async def test_lines_of_one_counted_product_share_its_stock(shop: Shop, session: AsyncSession) -> None:
    """The tart counts 3 in stock: two lines of 2 each pass the menu check one by one, but
    together they take 4, so the sale is refused whole and the stock stays at 3."""
    tart = {"product_id": shop.products["tart"], "quantity": 2}
    body = {
        "order_type": "takeaway",
        "lines": [tart, tart],
        "tenders": [{"tender": "card", "approval_code": "1"}],
    }
    refused = await shop.call("POST", "/sales", body, key=new_key(), expect=409)
    assert refused["code"] == "sold_out"
    assert await stock_of(session, shop, "tart") == 3
    assert await session.scalar(select(func.count(Bill.id))) == 0

    body["lines"] = [tart, {"product_id": shop.products["tart"], "quantity": 1}]
    bill = await shop.call("POST", "/sales", body, key=new_key(), expect=201)
    assert [line["quantity"] for line in bill["lines"]] == [2, 1]
    assert bill["version"] == 3  # opened, lines added in one change, paid (closing it)
    assert await stock_of(session, shop, "tart") == 0
