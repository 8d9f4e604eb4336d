"""The member on the bill: a strip under the bill header, and a dialog to find a member
by phone (any format, or the last four digits), card number or name, or to register one in
a few taps, and attach them to the bill."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.members import service as members
from kassa.members.access import shown_phone
from kassa.members.models import Member
from kassa.orders import service as orders
from kassa.orders.ui.hooks import MEMBER_ACTIONS
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.widgets import dialog_card, run


def member_strip(screen: RegisterScreen) -> None:
    """Who the bill is for: the member's name, phone, card and facts; or a button to add one."""
    _ = screen._
    assert screen.view is not None
    member = screen.view.member
    with ui.row().classes("w-full items-center gap-2 flex-nowrap rounded bg-teal-50 px-2 py-1"):
        ui.icon("card_membership", size="24px").classes("text-teal-800")
        if member is None:
            ui.label(_("No member")).classes("text-sm opacity-70 flex-1")
            ui.button(_("Member"), icon="person_search", on_click=lambda: member_dialog(screen)).props(
                "no-caps outline color=teal-8"
            ).classes("min-h-[48px]").props('data-testid="bill-member-add"')
            return
        with (
            ui.column()
            .classes("gap-0 min-w-0 flex-1")
            .props(f'data-testid="bill-member" data-member-id="{member.id}"')
        ):
            ui.label(f"{member.name} · {member.phone}").classes("text-sm font-bold truncate")
            details = [_("Card {number}").format(number=member.card_number), *member.facts]
            ui.label(" · ".join(details)).classes("text-xs opacity-80 truncate")
        for action in MEMBER_ACTIONS:
            if action.is_shown(screen, None):
                ui.button(
                    icon=action.icon, on_click=lambda action=action: action.on_click(screen, None)
                ).props("flat round color=teal-8").props(f'data-testid="{action.testid}"').tooltip(
                    _(action.label)
                )
        ui.button(icon="swap_horiz", on_click=lambda: member_dialog(screen)).props(
            "flat round color=teal-8"
        ).props('data-testid="bill-member-change"').tooltip(_("Change member"))
        ui.button(icon="person_remove", on_click=lambda: attach(screen, None)).props(
            "flat round color=grey-8"
        ).props('data-testid="bill-member-remove"').tooltip(_("Take the member off the bill"))


async def attach(screen: RegisterScreen, member_id: int | None) -> bool:
    async def change(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.attach_member(session, screen.actor, bill_id, version, member_id)

    return await screen.act(change) is not None


async def member_dialog(screen: RegisterScreen) -> None:
    """Find a member and attach them; a number nobody has offers to register it."""
    _ = screen._
    region = screen.store.phone_region
    state: dict[str, Any] = {"found": []}
    with dialog_card(screen.root, _("Member"), "member", 520) as dialog:
        query = (
            ui.input(_("Phone, last 4 digits, card number or name"))
            .props("outlined clearable autofocus inputmode=search")
            .classes("w-full text-lg")
            .props('data-testid="member-search"')
        )
        results = ui.column().classes("w-full gap-2")

        async def search() -> None:
            text = (query.value or "").strip()
            try:
                async with get_database().read_only() as session:
                    found = await members.find_members(session, screen.actor, text) if text else []
            except KassaError as error:
                screen.error(error)
                return
            state["found"] = found
            paint(text)

        def paint(text: str) -> None:
            results.clear()
            with results:
                for member in state["found"]:
                    member_button(member)
                if text and not state["found"]:
                    ui.label(_("No member found.")).classes("opacity-70")
                if text and (not state["found"] or len(text) > 4):
                    register_form(text)

        def member_button(member: Member) -> None:
            async def pick() -> None:
                if await attach(screen, member.id):
                    dialog.submit(member.id)

            ui.button(
                " · ".join(
                    (member.name, shown_phone(screen.actor, member.phone_e164, region), member.card_number)
                ),
                on_click=pick,
            ).props("no-caps unelevated color=teal-1 text-color=teal-10 align=left").classes(
                "w-full min-h-[56px] text-base"
            ).props(f'data-testid="member-result-{member.id}"')

        def register_form(text: str) -> None:
            with (
                ui.expansion(_("Register a new member"), icon="person_add")
                .classes("w-full")
                .props('data-testid="member-register"')
            ):
                phone = ui.input(_("Mobile phone"), value=text if any(c.isdigit() for c in text) else "")
                phone.props("outlined inputmode=tel").classes("w-full").props(
                    'data-testid="member-new-phone"'
                )
                name = ui.input(_("Name"), value="" if any(c.isdigit() for c in text) else text)
                name.props("outlined").classes("w-full").props('data-testid="member-new-name"')
                privacy = ui.checkbox(_("The customer accepts the privacy policy")).props(
                    'data-testid="member-new-privacy"'
                )
                marketing = ui.checkbox(_("The customer wants offers by SMS")).props(
                    'data-testid="member-new-marketing"'
                )

                async def register() -> None:
                    try:
                        async with get_database().unit_of_work() as session:
                            member = await members.register_member(
                                session,
                                screen.actor,
                                screen.store.id,
                                members.MemberInput(phone=phone.value or "", name=(name.value or "").strip()),
                                members.RegistrationConsents(
                                    privacy_policy_accepted=bool(privacy.value),
                                    privacy_policy_version=members.CURRENT_PRIVACY_POLICY_VERSION,
                                    marketing_sms=bool(marketing.value),
                                ),
                            )
                    except KassaError as error:
                        screen.error(error)
                        return
                    if await attach(screen, member.id):
                        dialog.submit(member.id)

                ui.button(_("Register and attach"), icon="how_to_reg", on_click=register).props(
                    "no-caps unelevated color=positive"
                ).classes("w-full min-h-[56px] text-base").props('data-testid="member-new-submit"')

        ui.button(_("Search"), icon="search", on_click=search).props(
            "no-caps unelevated color=teal-8"
        ).classes("w-full min-h-[48px]").props('data-testid="member-search-go"')

        async def maybe_search() -> None:
            # Searching by name reads every member: only whole numbers and last-4 go as you type.
            digits = "".join(c for c in (query.value or "") if c.isdigit())
            if len(digits) in (4, 10, 11, 13):
                await search()

        query.on("keydown.enter", search)
        query.on_value_change(maybe_search)
    await run(dialog)
