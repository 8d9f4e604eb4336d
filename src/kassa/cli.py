"""The ``kassa`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select

from kassa.core import audit, migrations
from kassa.core.auth import Actor, Role
from kassa.core.database import Database
from kassa.core.errors import KassaError
from kassa.core.settings import get_settings, prepare_var_directory
from kassa.telephony.cli import phone_app

app = typer.Typer(help="Kassa point of sale.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff commands.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trail commands.", no_args_is_help=True)
org_app = typer.Typer(help="Organizations: one owner's business each.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(staff_app, name="staff")
app.add_typer(audit_app, name="audit")
app.add_typer(phone_app, name="phone")

T = TypeVar("T")


def _with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(get_settings().database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _prepare_var_directory() -> None:
    """The var directory 0700, and every file this process creates 0600 (umask 077)."""
    prepare_var_directory(get_settings())


async def _upgrade(database: Database) -> None:
    await migrations.upgrade(database.engine)


async def _seed_demo(database: Database) -> bool:
    from kassa.demo import is_seeded, seed_demo

    async with database.unit_of_work() as session:
        if await is_seeded(session):
            return False
        await seed_demo(session)
    return True


def _print_demo_logins() -> None:
    from kassa.demo import DEMO_STAFF

    settings = get_settings()
    typer.echo("")
    typer.echo(f"Kassa is at http://{settings.host}:{settings.port}")
    owner = DEMO_STAFF[0]
    typer.echo(
        f"  Register: open the page, set it up as 'Counter 1' (log in once as {owner.email} / "
        f"{owner.password}), then tap your name and type the PIN."
    )
    for login in DEMO_STAFF:
        extra = f"   back office: {login.email} / {login.password}" if login.email else ""
        typer.echo(f"    {login.role.value:<8} {login.name:<24} PIN {login.pin}{extra}")
    typer.echo(f"  Back office: http://{settings.host}:{settings.port}/backoffice/login")
    typer.echo(f"  API docs:    http://{settings.host}:{settings.port}/api/docs")
    typer.echo(f"  Member portal (phone): http://{settings.host}:{settings.port}/m/1")
    typer.echo("")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    _prepare_var_directory()
    _with_database(_upgrade)
    typer.echo("database is up to date")


@app.command()
def demo() -> None:
    """Seed the demo café (store, registers, staff of each role, tables, menu) if empty."""
    _prepare_var_directory()
    _with_database(_upgrade)
    created = _with_database(_seed_demo)
    typer.echo("demo store created" if created else "the database has data already; demo not seeded")
    if created:
        _print_demo_logins()


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    seed_demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Seed the demo store when empty")
    ] = True,
) -> None:
    """Migrate, seed the demo store on first run, and serve Kassa."""
    import uvicorn

    from kassa.web.app import create_app

    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    _prepare_var_directory()
    # NiceGUI keeps each browser's settings (register, session, language) here.
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(settings.var_dir / "nicegui"))
    _with_database(_upgrade)
    # The demo logins are printed only for the demo store seeded just now: a database with
    # data of its own has its own people and passwords.
    if seed_demo and _with_database(_seed_demo):
        _print_demo_logins()
    else:
        typer.echo(f"Kassa is at http://{settings.host}:{settings.port}")
    # force: python-escpos gives the root logger a handler on import, which would silence this.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command()
def api(
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes")] = 2,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Serve the API alone in several processes, beside `kassa run` (PostgreSQL only).

    For more requests than one process can answer (kiosks, integrations, online orders):
    each process takes requests on the same port; events reach the registers of
    `kassa run` over PostgreSQL (run it with KASSA_EVENT_BUS=postgres); the outbox is sent
    by `kassa run` or `kassa worker`.
    """
    import uvicorn

    settings = get_settings()
    if settings.is_sqlite:
        raise typer.BadParameter("several processes need PostgreSQL: set KASSA_DATABASE_URL")
    _prepare_var_directory()
    _with_database(_upgrade)
    # The workers are new processes: they read their settings from the environment.
    os.environ["KASSA_ENABLE_UI"] = "false"
    os.environ["KASSA_RUN_WORKER_IN_PROCESS"] = "false"
    os.environ["KASSA_EVENT_BUS"] = "postgres"
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    uvicorn.run(
        "kassa.web.app:create_app",
        factory=True,
        workers=workers,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@app.command("webhook-token")
def webhook_token(
    organization_id: Annotated[
        int | None,
        typer.Option(
            "--organization-id", min=1, max=2**63 - 1, help="Only this organization: its token on stdout"
        ),
    ] = None,
) -> None:
    """Print each organization's webhook token and the URLs the SMS gateways call (replies and
    delivery reports), at KASSA_PUBLIC_URL. The token is derived from the secret key; an
    owner replaces it in the back office (Message templates, Webhooks)."""
    from kassa.notifications.service import WebhookSetup, webhook_setup
    from kassa.stores.models import Organization

    _prepare_var_directory()

    async def setups(database: Database) -> list[tuple[str, WebhookSetup]]:
        async with database.read_only() as session:
            query = select(Organization).order_by(Organization.id)
            if organization_id is not None:
                query = query.where(Organization.id == organization_id)
            organizations = (await session.scalars(query)).all()
            return [(item.name, await webhook_setup(session, item.id)) for item in organizations]

    try:
        found = _with_database(setups)
    except ValueError as error:  # an SMS provider named without its settings
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if organization_id is not None:
        if not found:
            typer.echo(f"error: no organization {organization_id}", err=True)
            raise typer.Exit(1)
        (_name, setup), *_rest = found
        typer.echo(setup.token)
        for address in setup.addresses:
            typer.echo(f"{address.provider} {address.kind}: {address.url}", err=True)
        return
    if not found:
        typer.echo("no organization yet", err=True)
        raise typer.Exit(1)
    for name, setup in found:
        typer.echo(f"organization {setup.organization_id} ({name}): {setup.token}")
        for address in setup.addresses:
            typer.echo(f"  {address.provider} {address.kind}: {address.url}")


@app.command()
def worker() -> None:
    """Send the outbox (print jobs, messages) until stopped with Ctrl-C or SIGTERM.

    Runs beside or instead of the server's own worker (``KASSA_RUN_WORKER_IN_PROCESS``);
    several at once are safe. Run ``kassa db upgrade`` first.
    """
    from kassa.core.pg_events import events_across_processes
    from kassa.worker import create_worker

    _prepare_var_directory()  # printer files it writes are private
    # force: importing python-escpos has already given the root logger a bare handler.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )

    async def run(database: Database) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop_signal, stop.set)
        typer.echo("outbox worker running; stop it with Ctrl-C")
        settings = get_settings()
        # Its events (a printer failed) reach the registers of `kassa run` with the
        # PostgreSQL bus.
        async with events_across_processes(settings.database_url, settings.event_bus):
            await create_worker(database).run_forever(stop)

    _with_database(run)
    typer.echo("outbox worker stopped")


@app.command()
def housekeeping() -> None:
    """Delete now what the worker's daily housekeeping deletes (sent and long-dead outbox
    messages, expired sessions and codes, old idempotency keys) and print the counts."""
    from kassa.housekeeping import purge

    report = _with_database(purge)
    for name, count in report.counts.items():
        typer.echo(f"{name:<22} {count:>8}")
    typer.echo(f"{'total':<22} {report.total:>8}")


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Option(help="Display name")],
    role: Annotated[Role, typer.Option(help="owner, manager, cashier or waiter")],
    pin: Annotated[str, typer.Option(help="4 to 6 digits", prompt=True, hide_input=True)],
    store_id: Annotated[int | None, typer.Option(help="Store the person works in (not for owners)")] = None,
    email: Annotated[str | None, typer.Option(help="Back-office login (owners, managers)")] = None,
    password: Annotated[str | None, typer.Option(help="Back-office password")] = None,
    organization_id: Annotated[
        int | None, typer.Option(help="The organization (`kassa org list`); needed when there are several")
    ] = None,
) -> None:
    """Add a staff member (run on the server, so it acts as the system)."""
    from kassa.staff import service as staff_service
    from kassa.stores.models import Organization

    async def add(database: Database) -> int:
        async with database.unit_of_work() as session:
            organizations = (await session.scalars(select(Organization.id).order_by(Organization.id))).all()
            if not organizations:
                raise typer.BadParameter("no organization yet: run `kassa org create` or `kassa demo` first")
            if organization_id is None and len(organizations) > 1:
                raise typer.BadParameter("there are several organizations: name one with --organization-id")
            chosen = organization_id if organization_id is not None else organizations[0]
            if chosen not in organizations:
                raise typer.BadParameter(f"no organization {chosen}")
            actor = Actor.system(chosen, name="kassa staff add")
            staff = await staff_service.create_staff(
                session,
                actor,
                display_name=name,
                role=role,
                pin=pin,
                store_id=store_id,
                email=email,
                password=password,
            )
            return staff.id

    try:
        staff_id = _with_database(add)
    except KassaError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"staff member {staff_id} added")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option(help="The business, e.g. 'Golden Dragon Restaurants'")],
    store_name: Annotated[str, typer.Option(help="Its first store")],
    owner_name: Annotated[str, typer.Option(help="The owner's name as staff see it")],
    owner_email: Annotated[str, typer.Option(help="The owner's back-office login")],
    owner_password: Annotated[
        str,
        typer.Option(help="At least 10 characters", prompt=True, hide_input=True, confirmation_prompt=True),
    ],
    owner_pin: Annotated[
        str, typer.Option(help="4 to 6 digits, for the registers", prompt=True, hide_input=True)
    ],
    currency: Annotated[str, typer.Option(help="ISO 4217")] = "CNY",
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Shanghai",
    phone_region: Annotated[str, typer.Option(help="Region for phone numbers without a prefix")] = "CN",
    locale: Annotated[str, typer.Option(help="Receipts and messages: zh_CN or en")] = "zh_CN",
    register_name: Annotated[str, typer.Option(help="The first register")] = "Counter 1",
) -> None:
    """Create an organization with its first store, a register and its owner (run on the
    server: it acts as the system). The owner then logs in to the back office."""
    from kassa.onboarding import OrganizationSetup, create_organization

    setup = OrganizationSetup(
        name=name,
        owner_name=owner_name,
        owner_email=owner_email,
        owner_password=owner_password,
        owner_pin=owner_pin,
        store_name=store_name,
        currency=currency,
        timezone=timezone,
        phone_region=phone_region,
        locale=locale,
        register_name=register_name,
    )

    async def create(database: Database) -> tuple[int, int, int, int]:
        await migrations.upgrade(database.engine)
        async with database.unit_of_work() as session:
            created = await create_organization(session, setup)
            return created.organization.id, created.store.id, created.register.id, created.owner.id

    _prepare_var_directory()
    try:
        organization_id, store_id, register_id, owner_id = _with_database(create)
    except KassaError as error:
        typer.echo(f"error: {error.field + ': ' if error.field else ''}{error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"organization {organization_id} created: store {store_id}, register {register_id}, owner {owner_id}"
    )
    typer.echo(
        f"  the owner logs in to the back office at /backoffice/login as {setup.owner_email.strip().lower()}"
    )


@org_app.command("list")
def org_list() -> None:
    """Every organization with its id and how many stores and staff it has."""
    from kassa.onboarding import list_organizations

    async def read(database: Database) -> list[Any]:
        async with database.read_only() as session:
            return list(await list_organizations(session))

    for row in _with_database(read):
        typer.echo(f"{row.id:>6}  {row.name:<40} stores {row.stores:>3}  staff {row.staff:>4}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chains; exit 1 if any record was edited, inserted or deleted."""

    async def verify(database: Database) -> tuple[int, list[audit.ChainProblem]]:
        async with database.read_only() as session:
            return await audit.verify_chains(session)

    checked, problems = _with_database(verify)
    for problem in problems:
        typer.echo(f"{problem.chain_key} #{problem.sequence}: {problem.reason}", err=True)
    if problems:
        typer.echo(f"audit trail BROKEN: {len(problems)} problem(s) in {checked} records", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit trail intact: {checked} records verified")


if __name__ == "__main__":
    app()
