"""The back office's payment providers page (``/backoffice/payments``, owners): per store and
wallet tender, not set up, the simulator, or the real WeChat Pay / Alipay with the merchant's
credentials. Secrets are write-only here: a stored one shows as "set" and an empty field
keeps it."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import N_
from kassa.payments import provider_settings
from kassa.payments.models import ProviderKind, Tender
from kassa.payments.provider_settings import ProviderSettingsChange, ProviderSettingsView
from kassa.stores import service as store_service
from kassa.stores.models import Store
from kassa.web.layout import (
    backoffice_frame,
    chosen_store,
    gettext,
    notify_error,
    require_backoffice_actor,
    store_switch,
)

TOUCH = "min-h-[48px]"
FIELD = "outlined stack-label"
NOT_SET_UP = "none"

TENDER_TITLES = {Tender.WECHAT_PAY: N_("WeChat Pay"), Tender.ALIPAY: N_("Alipay")}
# Field labels, in the order shown; long ones (keys, certificates) are text areas.
FIELD_LABELS: dict[str, str] = {
    "merchant_id": N_("Merchant ID (mchid, 商户号)"),
    "app_id": N_("App ID (AppID)"),
    "merchant_certificate_serial": N_("Merchant API certificate serial number"),
    "platform_public_key_id": N_("WeChat Pay public key ID (PUB_KEY_ID_…)"),
    "platform_public_key": N_("WeChat Pay public key (PEM)"),
    "platform_certificates": N_("Or: platform certificates (PEM)"),
    "merchant_private_key": N_("Merchant API private key (apiclient_key.pem)"),
    "api_v3_key": N_("APIv3 key"),
    "alipay_public_key": N_("Alipay public key (支付宝公钥)"),
    "app_private_key": N_("App private key (应用私钥)"),
}
LONG_FIELDS = frozenset(
    {
        "platform_public_key",
        "platform_certificates",
        "merchant_private_key",
        "alipay_public_key",
        "app_private_key",
    }
)


@ui.page("/backoffice/payments", title="Kassa · payment providers")
async def payment_providers_page(store: int | None = None) -> None:
    actor = await require_backoffice_actor(Permission.SETTINGS_MANAGE)
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        current = chosen_store(stores, actor, store)
        views = await provider_settings.provider_settings_of(session, actor, current.id) if current else []
    with backoffice_frame(actor, _("Payment providers")):
        if current is None:
            ui.label(_("No store yet.")).classes("opacity-70")
            return
        store_switch(stores, current, "/backoffice/payments")
        ui.label(
            _(
                "Choose who takes WeChat Pay and Alipay in this store. A tender that is not set up "
                "is refused at the register. Keys are stored encrypted and never shown again."
            )
        ).classes("text-sm opacity-80 max-w-3xl")
        for view in views:
            ProviderForm(actor, current, view).build()


class ProviderForm:
    """One wallet tender of one store."""

    def __init__(self, actor: Actor, store: Store, view: ProviderSettingsView) -> None:
        self.actor = actor
        self.store = store
        self.view = view
        self._ = gettext()
        self.inputs: dict[str, Any] = {}

    @property
    def real(self) -> ProviderKind:
        return provider_settings.REAL_PROVIDER[self.view.tender]

    def build(self) -> None:
        _ = self._
        view = self.view
        tender = view.tender.value
        with (
            ui.card()
            .classes("w-full max-w-3xl items-stretch gap-3")
            .props(f'data-testid="provider-{tender}"')
        ):
            ui.label(_(TENDER_TITLES[view.tender])).classes("text-lg font-bold")
            self.status = (
                ui.label(self.status_text())
                .classes("text-sm")
                .props(f'data-testid="provider-status-{tender}"')
            )
            self.choice = (
                ui.select(
                    {
                        NOT_SET_UP: _("Not set up (refused at the register)"),
                        ProviderKind.SIMULATOR.value: _("Simulator (demo and training, no money moves)"),
                        self.real.value: _("{provider} (real payments)").format(
                            provider=_(TENDER_TITLES[view.tender])
                        ),
                    },
                    value=view.provider.value if view.provider else NOT_SET_UP,
                    label=_("Provider"),
                    on_change=lambda _event: self.show_fields(),
                )
                .props(FIELD)
                .props(f'data-testid="provider-choice-{tender}"')
            )
            self.fields = ui.column().classes("w-full gap-2")
            with self.fields:
                for name in provider_settings.PUBLIC_FIELDS[self.real]:
                    self.public_input(name)
                for name in provider_settings.SECRET_FIELDS[self.real]:
                    self.secret_input(name)
                with ui.column().classes("w-full gap-0"):
                    ui.label(_("Notification address to register with the provider")).classes(
                        "text-sm font-bold"
                    )
                    ui.label(view.notification_url).classes("text-sm font-mono break-all").props(
                        f'data-testid="provider-notify-url-{tender}"'
                    )
            self.show_fields()
            ui.button(_("Save"), icon="save", on_click=self.save).props("unelevated no-caps").classes(
                TOUCH
            ).props(f'data-testid="provider-save-{tender}"')

    def status_text(self) -> str:
        _ = self._
        if self.view.provider is None:
            return _("Not set up: the register refuses this tender.")
        if self.view.provider is ProviderKind.SIMULATOR:
            return _("Simulator: no money moves.")
        return _("Real payments. Secrets stored: {names}").format(
            names=", ".join(_(FIELD_LABELS[name]) for name in self.view.secrets_set) or "-"
        )

    def public_input(self, name: str) -> None:
        _ = self._
        value = self.view.settings.get(name) if self.view.provider is self.real else None
        testid = f'data-testid="provider-{self.view.tender.value}-{name}"'
        if name == "is_sandbox":
            self.inputs[name] = ui.checkbox(
                _("Alipay sandbox (test accounts, no real money)"), value=bool(value)
            )
            self.inputs[name].props(testid)
            return
        if name in LONG_FIELDS:
            element: Any = ui.textarea(_(FIELD_LABELS[name]), value=str(value or "")).props(
                f"{FIELD} autogrow input-class=font-mono"
            )
        else:
            element = ui.input(_(FIELD_LABELS[name]), value=str(value or "")).props(FIELD)
        self.inputs[name] = element.classes("w-full").props(testid)

    def secret_input(self, name: str) -> None:
        _ = self._
        is_set = self.view.provider is self.real and name in self.view.secrets_set
        hint = _("Set. Leave empty to keep it.") if is_set else _("Not set yet.")
        testid = f'data-testid="provider-{self.view.tender.value}-{name}"'
        if name in LONG_FIELDS:
            element: Any = ui.textarea(_(FIELD_LABELS[name]), placeholder=hint).props(
                f"{FIELD} autogrow input-class=font-mono"
            )
        else:
            element = ui.input(_(FIELD_LABELS[name]), placeholder=hint, password=True).props(
                f'{FIELD} autocomplete="new-password"'
            )
        self.inputs[name] = element.classes("w-full").props(testid)

    def show_fields(self) -> None:
        self.fields.set_visibility(self.choice.value == self.real.value)

    async def save(self) -> None:
        _ = self._
        choice = self.choice.value
        try:
            async with get_database().unit_of_work() as session:
                if choice == NOT_SET_UP:
                    await provider_settings.remove_provider_settings(
                        session, self.actor, self.store.id, self.view.tender
                    )
                    view = None
                else:
                    kind = ProviderKind(choice)
                    change = ProviderSettingsChange(kind)
                    if kind is self.real:
                        change = ProviderSettingsChange(
                            kind,
                            settings={
                                name: self.inputs[name].value
                                for name in provider_settings.PUBLIC_FIELDS[kind]
                            },
                            secrets={
                                name: self.inputs[name].value or None
                                for name in provider_settings.SECRET_FIELDS[kind]
                            },
                        )
                    view = await provider_settings.update_provider_settings(
                        session, self.actor, self.store.id, self.view.tender, change
                    )
        except KassaError as error:
            notify_error(error)
            return
        self.view = view or ProviderSettingsView(
            self.store.id,
            self.view.tender,
            None,
            {},
            [],
            self.view.notification_url,
            None,
        )
        # Secrets typed once are not kept on the page.
        for name in provider_settings.SECRET_FIELDS[self.real]:
            is_set = self.view.provider is self.real and name in self.view.secrets_set
            hint = _("Set. Leave empty to keep it.") if is_set else _("Not set yet.")
            self.inputs[name].set_value("")
            self.inputs[name].props(f'placeholder="{hint}"')
        self.status.set_text(self.status_text())
        ui.notify(_("Saved"), type="positive")
