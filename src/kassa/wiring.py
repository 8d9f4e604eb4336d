"""Where capabilities plug into those below them (refund results, SMS replies, loyalty at
checkout), done once by the server and the worker. Dependencies still point one way: the
lower capability only knows a registry, the higher one fills it in here."""

from __future__ import annotations

from kassa.deliveries.service import register_resend_hook
from kassa.loyalty import checkout as loyalty_checkout
from kassa.loyalty.top_ups import credit_confirmed_top_up
from kassa.members import service as members
from kassa.members.service import handle_stop_reply
from kassa.notifications import service as notifications
from kassa.notifications.erasure import scrub_messages
from kassa.orders import receipts
from kassa.orders import service as orders
from kassa.orders.erasure import scrub_bills
from kassa.payments.member_tenders import set_member_wallet
from kassa.payments.top_ups import set_top_up_confirmed_hook
from kassa.reservations.erasure import scrub_reservations
from kassa.reservations.service import install_hooks as install_reservation_hooks
from kassa.returns import service as returns
from kassa.returns.erasure import scrub_returns
from kassa.returns.service import install_hooks as install_return_hooks
from kassa.telephony.erasure import scrub_calls


def install_hooks() -> None:
    # A dead SMS sent again waits again in the message log too.
    register_resend_hook(notifications.SEND_KIND, notifications.requeue_for_resend)
    install_return_hooks()
    install_reservation_hooks()
    notifications.register_unmatched_handler(handle_stop_reply)
    # Loyalty at the counter: the tier discount, stored value and points, points earned
    # when a bill closes and taken back by a return.
    orders.set_member_discount_lookup(loyalty_checkout.tier_discount)
    set_member_wallet(loyalty_checkout.LoyaltyWallet())
    # A WeChat Pay / Alipay top-up is credited to the card when the provider confirms it.
    set_top_up_confirmed_hook(credit_confirmed_top_up)
    if loyalty_checkout.earn_on_close not in orders.BILL_CLOSED_HOOKS:
        orders.BILL_CLOSED_HOOKS.append(loyalty_checkout.earn_on_close)
    # After loyalty: the receipt shows the points the sale earned.
    if receipts.print_receipt_on_close not in orders.BILL_CLOSED_HOOKS:
        orders.BILL_CLOSED_HOOKS.append(receipts.print_receipt_on_close)
    if loyalty_checkout.COUPON_REASON_PREFIX not in orders.NON_STAFF_DISCOUNT_REASON_PREFIXES:
        # A member's coupon used as the bill discount is not a staff member's discount.
        orders.NON_STAFF_DISCOUNT_REASON_PREFIXES.append(loyalty_checkout.COUPON_REASON_PREFIX)
    if loyalty_checkout.give_coupon_back not in orders.BILL_DISCOUNT_REMOVED_HOOKS:
        orders.BILL_DISCOUNT_REMOVED_HOOKS.append(loyalty_checkout.give_coupon_back)
    if loyalty_checkout.reverse_on_return not in returns.RETURN_APPROVED_HOOKS:
        returns.RETURN_APPROVED_HOOKS.append(loyalty_checkout.reverse_on_return)
    # An erased member's number and name leave every table that kept a copy, each
    # capability scrubbing its own in the erasure's transaction.
    for scrub in (scrub_messages, scrub_calls, scrub_returns, scrub_reservations, scrub_bills):
        if scrub not in members.MEMBER_ERASED_HOOKS:
            members.MEMBER_ERASED_HOOKS.append(scrub)
