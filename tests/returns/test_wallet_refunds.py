"""WeChat Pay / Alipay refunds go through the provider's refund API by the outbox worker:
a provider that is down is asked again later, the refund is made once (our out_refund_no is
the provider's idempotency key), and a refused refund frees the money for another try."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kassa.core.auth import Role
from kassa.payments.models import Tender
from kassa.payments.provider_settings import replace_provider
from kassa.payments.providers import (
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SimulatorProvider,
)
from tests.returns.conftest import Worker
from tests.shop import Shop


class FlakyWallet(SimulatorProvider):
    """The simulator, down for the first ``outages`` refund calls, or refusing them all."""

    def __init__(self, outages: int = 0, refuse: bool = False) -> None:
        super().__init__(name="simulator-wechat_pay")
        self.outages = outages
        self.refuse = refuse
        self.refund_calls: list[str] = []

    async def refund(self, request: RefundRequest) -> RefundResult:
        self.refund_calls.append(request.out_refund_no)
        if self.outages:
            self.outages -= 1
            raise ProviderUnavailable(self.name, "timeout")
        if self.refuse:
            return RefundResult(RefundStatus.FAILED, request.out_refund_no, failure_reason="account frozen")
        return await super().refund(request)


@pytest.fixture
def wallet(shop: Shop) -> Iterator[FlakyWallet]:
    provider = FlakyWallet(outages=2)
    replace_provider(shop.store_id, Tender.WECHAT_PAY, provider)
    yield provider
    replace_provider(shop.store_id, Tender.WECHAT_PAY, None)


async def _returned_wechat_sale(shop: Shop) -> dict[str, object]:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    bill = await shop.pay(bill, "wechat_pay", payment_code="134567890123456789")
    assert bill["status"] == "closed"
    line_id = bill["lines"][0]["id"]
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": line_id, "quantity": 1}], "reason_code": "quality"},
    )
    return await shop.call("POST", f"/returns/{request['id']}/approve", {})


async def test_a_wechat_refund_survives_an_outage_and_is_made_once(
    shop: Shop, worker: Worker, wallet: FlakyWallet
) -> None:
    approved = await _returned_wechat_sale(shop)
    [refund] = approved["refunds"]  # type: ignore[index]
    assert (refund["tender"], refund["amount"], refund["status"]) == ("wechat_pay", 2800, "pending")
    for _ in range(3):
        await worker.run()
        worker.clock.advance(minutes=10)
    await worker.run()
    assert wallet.refund_calls == [f"kassa-rf-{refund['id']}"] * 3
    done = await shop.call("GET", f"/returns/{approved['id']}")
    assert (done["refund_state"], done["refunded_amount"]) == ("done", 2800)
    assert done["refunds"][0]["provider_reference"]


async def test_a_refused_wechat_refund_frees_the_money_and_tells_the_manager(
    shop: Shop, worker: Worker, wallet: FlakyWallet
) -> None:
    wallet.outages, wallet.refuse = 0, True
    approved = await _returned_wechat_sale(shop)
    await worker.run()
    failed = await shop.call("GET", f"/returns/{approved['id']}")
    assert failed["refund_state"] == "failed"
    assert failed["refunds"][0]["failure_reason"] == "account frozen"
    queue = await shop.call("GET", f"/stores/{shop.store_id}/returns/queue", role=Role.MANAGER)
    assert approved["id"] in [item["id"] for item in queue]
