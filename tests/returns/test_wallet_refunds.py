"""WeChat Pay / Alipay refunds go through the provider's refund API by the outbox worker:
a provider that is down is asked again later, the refund is made once (our out_refund_no is
the provider's idempotency key), and a refused refund frees the money for another try."""

from __future__ import annotations

import json
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
from tests.payments.providers.conftest import (  # noqa: F401 - fixtures
    _talk_to_local_servers_directly,
    fake_wechat_pay,
    wechat_pay_account,
)
from tests.payments.providers.fake_wechat_pay import FakeWeChatPay, WeChatPayAccount
from tests.payments.providers.test_store_providers import wechat_settings
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


async def test_a_refund_goes_back_through_the_stores_own_wechat_pay(
    shop: Shop,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
    fake_wechat_pay: FakeWeChatPay,  # noqa: F811 - the fixture imported above
    wechat_pay_account: WeChatPayAccount,  # noqa: F811
) -> None:
    monkeypatch.setenv("KASSA_WECHAT_PAY_GATEWAY_URL", fake_wechat_pay.base_url)
    await shop.call(
        "PUT",
        f"/stores/{shop.store_id}/payment-providers/wechat_pay",
        wechat_settings(wechat_pay_account),
        role=Role.OWNER,
    )

    approved = await _returned_wechat_sale(shop)
    await worker.run()

    [refund] = approved["refunds"]  # type: ignore[index]
    [sent] = fake_wechat_pay.requests_to("/v3/refund/domestic/refunds")
    body = json.loads(sent.body)
    assert (body["out_refund_no"], body["amount"]["refund"]) == (f"kassa-rf-{refund['id']}", 2800)
    done = await shop.call("GET", f"/returns/{approved['id']}")
    assert (done["refund_state"], done["refunded_amount"]) == ("done", 2800)


async def test_a_payment_of_a_provider_the_store_left_is_not_refunded_through_the_new_one(
    shop: Shop,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
    fake_wechat_pay: FakeWeChatPay,  # noqa: F811 - the fixture imported above
    wechat_pay_account: WeChatPayAccount,  # noqa: F811
) -> None:
    monkeypatch.setenv("KASSA_WECHAT_PAY_GATEWAY_URL", fake_wechat_pay.base_url)
    approved = await _returned_wechat_sale(shop)  # paid through the simulator
    # before the worker sends the refund, the owner switches the store to real WeChat Pay
    await shop.call(
        "PUT",
        f"/stores/{shop.store_id}/payment-providers/wechat_pay",
        wechat_settings(wechat_pay_account),
        role=Role.OWNER,
    )
    await worker.run()

    failed = await shop.call("GET", f"/returns/{approved['id']}")
    assert failed["refund_state"] == "failed"
    assert failed["refunds"][0]["failure_reason"] == (
        "the payment was taken through simulator-wechat_pay, the store now uses wechat_pay: "
        "give it back another way"
    )
    assert fake_wechat_pay.requests_to("/v3/refund/domestic/refunds") == []


async def test_a_store_that_stopped_taking_wechat_pay_fails_the_refund_for_a_manager(
    shop: Shop, worker: Worker
) -> None:
    approved = await _returned_wechat_sale(shop)
    await shop.call(
        "DELETE", f"/stores/{shop.store_id}/payment-providers/wechat_pay", role=Role.OWNER, expect=204
    )
    await worker.run()

    failed = await shop.call("GET", f"/returns/{approved['id']}")
    assert failed["refund_state"] == "failed"
    assert failed["refunds"][0]["failure_reason"] == "WeChat Pay is not set up for this store"
