"""The e-receipt page ``/r/<token>``: the QR code on the paper receipt leads here. No
login: the token (32 random bytes) is the key. Plain HTML, so it opens fast on any phone."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kassa.core.i18n import N_, format_datetime, format_money, translator
from kassa.core.money import Money
from kassa.orders.receipts import bill_by_receipt_token, build_receipt
from kassa.printing.documents import ReceiptDocument
from kassa.web.dependencies import database_of

router = APIRouter(include_in_schema=False)


STYLE = """
body { font-family: system-ui, -apple-system, "Noto Sans CJK SC", sans-serif;
       max-width: 28rem; margin: 0 auto; padding: 1rem; color: #111 }
h1 { font-size: 1.3rem; margin: .2rem 0 }
.muted { color: #666; font-size: .9rem }
table { width: 100%; border-collapse: collapse }
td { padding: .35rem 0; border-bottom: 1px solid #eee; vertical-align: top }
.n { text-align: right; white-space: nowrap; padding-left: .5rem }
.mod { color: #666; font-size: .85rem }
.total td { font-weight: 700; font-size: 1.15rem; border-bottom: 2px solid #111 }
.vat { color: #666; font-size: .85rem; margin-top: .3rem }
.unpaid { color: #b00; font-weight: 700 }
"""


def _row(label: str, amount: str, css_class: str = "") -> str:
    return f"<tr class='{css_class}'><td colspan='2'>{label}</td><td class='n'>{amount}</td></tr>"


LABELS = {
    "receipt": N_("Receipt"),
    "bill": N_("Bill"),
    "subtotal": N_("Subtotal"),
    "total": N_("Total"),
    "vat": N_("VAT included"),
    "change": N_("Change"),
    "copy": N_("Not paid yet"),
    "table": N_("Table"),
    "pickup": N_("Pickup code"),
}


def render_html(document: ReceiptDocument, *, is_paid: bool) -> str:
    _ = translator(document.locale)
    locale = document.locale

    def label(key: str) -> str:
        return escape(_(LABELS[key]))

    def money(amount: Money) -> str:
        return escape(format_money(amount, locale))

    rows = []
    for line in document.lines:
        modifiers = "".join(
            f"<div class='mod'>+ {escape(modifier.name)}"
            + (f" {money(modifier.price_delta)}" if modifier.price_delta.amount else "")
            + "</div>"
            for modifier in line.modifiers
        )
        discount = (
            f"<div class='mod'>{escape(line.discount.label)} {money(line.discount.amount)}</div>"
            if line.discount
            else ""
        )
        rows.append(
            f"<tr><td>{escape(line.name)}{modifiers}{discount}</td><td class='n'>×{line.quantity}</td>"
            f"<td class='n'>{money(line.line_total)}</td></tr>"
        )
    adjustments = "".join(_row(escape(item.label), money(item.amount)) for item in document.adjustments)
    tenders = "".join(_row(escape(tender.label), money(tender.amount)) for tender in document.tenders)
    change = _row(label("change"), money(document.change_due)) if document.change_due else ""
    subtotal = _row(label("subtotal"), money(document.subtotal))
    total = _row(label("total"), money(document.total), "total")
    vat = "".join(
        f"<div class='vat'>{label('vat')} {escape(row.rate_label)}: {money(row.vat)}</div>"
        for row in document.vat_breakdown
    )
    where = ""
    if document.table_name:
        where = f"{label('table')} {escape(document.table_name)}"
    elif document.pickup_code:
        where = f"{label('pickup')} {escape(document.pickup_code)}"
    unpaid = "" if is_paid else f"<p class='unpaid'>{label('copy')}</p>"
    issued = escape(format_datetime(document.issued_at, document.timezone, locale, "yyyy-MM-dd HH:mm"))
    return f"""<!doctype html>
<html lang="{escape(locale.replace("_", "-"))}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(document.store.name)} · {label("receipt")}</title>
<style>{STYLE}</style></head><body>
<h1>{escape(document.store.name)}</h1>
<div class="muted">{escape(document.store.address)}</div>
<p class="muted">{label("bill")} {escape(document.bill_number)} · {issued} · {where}</p>
{unpaid}
<table>{"".join(rows)}
{subtotal}
{adjustments}
{total}
{tenders}{change}</table>
{vat}
</body></html>"""


@router.get("/r/{token}", response_class=HTMLResponse)
async def e_receipt(token: str, request: Request) -> HTMLResponse:
    async with database_of(request).read_only() as session:
        bill = await bill_by_receipt_token(session, token)
        document = await build_receipt(session, bill)
    return HTMLResponse(render_html(document, is_paid=bool(document.tenders)))
