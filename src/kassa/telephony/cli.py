"""``kassa phone``: play a paired phone against a running Kassa (pair it, report calls),
e.g. to try the register's caller popup without a phone at hand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from kassa.core.settings import get_settings
from kassa.telephony import client as phone

phone_app = typer.Typer(
    help="Play a phone paired with a register: pair it, report calls.", no_args_is_help=True
)


def _default_url() -> str:
    settings = get_settings()
    return f"http://{settings.host}:{settings.port}"


UrlOption = Annotated[
    str | None, typer.Option("--url", help="Where Kassa runs (default: KASSA_HOST:KASSA_PORT)")
]


def _run(url: str | None, work: Callable[[Any], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with phone.new_client(url or _default_url()) as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except phone.PhoneApiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@phone_app.command("pair")
def pair_command(
    code: Annotated[str, typer.Argument(help="The 6-digit code the register shows")],
    name: Annotated[str, typer.Option("--name", help="What the phone is called, e.g. 'Front desk phone'")],
    url: UrlOption = None,
) -> None:
    """Pair a phone with the register showing CODE; prints the phone's token (keep it)."""
    answer = _run(url, lambda client: phone.pair(client, code, name))
    typer.echo(answer["token"])
    typer.echo(phone.describe_pairing(answer), err=True)


@phone_app.command("call")
def call_command(
    number: Annotated[str, typer.Argument(help="The caller's number, any format")],
    device: Annotated[str, typer.Option("--device", help="The phone's token (from `kassa phone pair`)")],
    url: UrlOption = None,
    call_id: Annotated[
        str | None, typer.Option("--call-id", help="The PBX's call id: sent twice, it is one call")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print Kassa's answer as JSON")] = False,
) -> None:
    """Report an incoming call from NUMBER: it pops up on the phone's register."""
    answer = _run(url, lambda client: phone.report_call(client, device, number, external_call_id=call_id))
    typer.echo(json.dumps(answer, ensure_ascii=False) if as_json else phone.describe_call(answer))
