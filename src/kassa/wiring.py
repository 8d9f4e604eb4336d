"""Where capabilities plug into those below them (refund results, SMS replies), done once
by the server and the worker. Dependencies still point one way: the lower capability only
knows a registry, the higher one fills it in here."""

from __future__ import annotations

from kassa.members.service import handle_stop_reply
from kassa.notifications import service as notifications
from kassa.returns.service import install_hooks as install_return_hooks


def install_hooks() -> None:
    install_return_hooks()
    notifications.register_unmatched_handler(handle_stop_reply)
