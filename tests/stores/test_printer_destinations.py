"""Printer destinations are only a network printer (tcp://host:port) or a file in the var
directory's printers folder: anything else is refused naming the field, and nothing is
stored."""

from __future__ import annotations

import pytest

from kassa.core.auth import Role
from kassa.core.settings import get_settings
from tests.shop import Shop

REFUSED = [
    ("file:///etc/passwd", "outside the printers folder"),
    ("file:///dev/usb/lp0", "outside the printers folder"),
    ("file://{printers}/../secret.key", "outside the printers folder"),
    ("file:printers/x.bin", "absolute file path"),
    ("http://10.0.0.9:9100", "must start with tcp:// or file://"),
    ("smb://server/printer", "must start with tcp:// or file://"),
    ("tcp://10.0.0.9:70000", "invalid port"),
    ("tcp://10.0.0.9:0", "invalid port"),
    ("tcp://10.0.0.9:9100/queue", "only tcp://host:port"),
]


def _with_printers(destination: str) -> str:
    return destination.format(printers=get_settings().printers_dir)


@pytest.mark.parametrize(("destination", "reason"), REFUSED)
async def test_a_register_printer_outside_the_rules_is_refused(
    shop: Shop, destination: str, reason: str
) -> None:
    register = f"/registers/{shop.register_ids[0]}/printer"
    refused = await shop.call(
        "PUT", register, {"receipt_printer": _with_printers(destination)}, role=Role.OWNER, expect=422
    )
    assert refused["code"] == "validation_failed"
    assert [error["field"] for error in refused["errors"]] == ["receipt_printer"]
    assert reason in refused["errors"][0]["reason"]
    # nothing was stored: the register still prints to its default
    kept = await shop.call("PUT", register, {"receipt_printer": None}, role=Role.OWNER)
    assert kept["receipt_printer"] is None


@pytest.mark.parametrize(("destination", "reason"), REFUSED)
async def test_a_kitchen_printer_outside_the_rules_is_refused(
    shop: Shop, destination: str, reason: str
) -> None:
    refused = await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/settings",
        {"kitchen_printers": {"bar": "tcp://10.0.0.5:9100", "kitchen": _with_printers(destination)}},
        role=Role.OWNER,
        expect=422,
    )
    assert [error["field"] for error in refused["errors"]] == ["kitchen_printers.kitchen"]
    assert reason in refused["detail"]


async def test_a_network_printer_and_a_file_in_the_printers_folder_are_accepted(shop: Shop) -> None:
    spool = f"file://{get_settings().printers_dir}/bar.escpos"
    settings = await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/settings",
        {"kitchen_printers": {"bar": spool, "kitchen": "tcp://kitchen-printer.local:9100"}},
        role=Role.OWNER,
    )
    assert settings["kitchen_printers"] == {"bar": spool, "kitchen": "tcp://kitchen-printer.local:9100"}
    register = await shop.call(
        "PUT",
        f"/registers/{shop.register_ids[0]}/printer",
        {"receipt_printer": "tcp://[fd00::50]:9100"},
        role=Role.OWNER,
    )
    assert register["receipt_printer"] == "tcp://[fd00::50]:9100"
