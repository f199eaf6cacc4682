"""The ``portal`` command: migrate, serve, check, worker, link, create-user, sync-orders,
invoices, stores, and any command another installed package adds through the
``portal.commands`` entry point group (the sandbox package adds ``demo``)."""

from __future__ import annotations

import argparse
import contextlib
import logging.config
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from portal import logs
from portal.errors import AccountError, PortalError, SettingsError
from portal.settings import Mode, Settings
from portal.shopify_app.commands import SUBCOMMANDS as SHOPIFY_APP_COMMANDS
from portal.stores.commands import add_stores_command

if TYPE_CHECKING:
    from portal.runtime import Runtime

Command = Callable[[argparse.Namespace, Settings], int]
# An installed package's ``portal.commands`` entry point: adds its subcommand to the parser.
AddCommand = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever stops it (a setting refused, a database or server that cannot
    be reached, an outside service that failed) is printed as ``portal <command>: <what>``, one
    line each, never a traceback, with a non-zero exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    name = f"portal {args.command_name}"
    if args.env_file:
        os.environ["PORTAL_ENV_FILE"] = args.env_file  # read by every process serve starts
    try:
        settings = Settings.from_env()
        command: Command = args.command
        return command(args, settings)
    except SettingsError as exc:
        return _failed(name, str(exc).splitlines(), SETTINGS_REFUSED)
    except OperationalError as exc:
        return _failed(name, [f"the database could not be reached: {_first_line(exc.orig)}"], 1)
    except SQLAlchemyError as exc:
        return _failed(name, [f"the database could not be used: {_first_line(exc)}"], 1)
    except PortalError as exc:
        return _failed(name, [_first_line(exc)], 1)
    except OSError as exc:
        return _failed(name, [_first_line(exc)], 1)


SETTINGS_REFUSED = 2


def _failed(name: str, lines: list[str], code: int) -> int:
    for line in lines or ["failed"]:
        print(f"{name}: {line}", file=sys.stderr)
    return code


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description=__doc__)
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read settings from FILE beneath the environment (default: .env, if there is one)",
    )
    commands = parser.add_subparsers(required=True, metavar="command", dest="command_name")

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(command=_migrate)

    serve = commands.add_parser("serve", help="serve the portal")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", type=int, default=1, help="web processes (each imports the app from scratch)"
    )
    serve.set_defaults(command=_serve)

    check = commands.add_parser(
        "check", help="check the database, migrations, mail server and every store's services"
    )
    check.set_defaults(command=_check)

    worker = commands.add_parser("worker", help="run the job worker until interrupted")
    worker.set_defaults(command=_worker)

    link = commands.add_parser("link", help="print a signed link that opens a store's order")
    link.add_argument("--store", required=True, help="the store's slug")
    which = link.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", help="order number, looked up in Shopify (e.g. #1001)")
    which.add_argument("--order-id", help="Shopify order id or gid, used as given")
    link.set_defaults(command=_link)

    create_user = commands.add_parser(
        "create-user", help="add a support user, or give one a new password"
    )
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--role", choices=["agent", "admin", "merchant"])
    create_user.add_argument("--store", help="the store's slug (merchant users only)")
    create_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    create_user.add_argument(
        "--reset-password", action="store_true", help="set a new password for an existing user"
    )
    create_user.set_defaults(command=_create_user)

    sync_orders = commands.add_parser(
        "sync-orders", help="read a month of a store's orders from Shopify into the premiums"
    )
    sync_orders.add_argument("--store", required=True, help="the store's slug")
    sync_orders.add_argument("--month", required=True, help="YYYY-MM, in the store's time zone")
    sync_orders.set_defaults(command=_sync_orders)

    invoices = commands.add_parser("invoices", help="monthly invoices")
    invoice_commands = invoices.add_subparsers(required=True, metavar="action")
    close = invoice_commands.add_parser("close", help="close a month: its invoice is frozen")
    close.add_argument("--store", required=True, help="the store's slug")
    close.add_argument("--month", required=True, help="YYYY-MM, in the store's time zone")
    close.add_argument("--by", default="portal invoices close", help="who closes it")
    close.set_defaults(command=_close_invoice)

    add_stores_command(commands, more=SHOPIFY_APP_COMMANDS)
    _add_installed_commands(commands)
    return parser


def _add_installed_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Commands of other installed packages; one whose package is not installed is left out."""
    for entry_point in entry_points(group="portal.commands"):
        try:
            add_command: AddCommand = entry_point.load()
        except ModuleNotFoundError:
            continue
        add_command(commands)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from portal.migrate import upgrade

    settings.check()
    upgrade(settings.database_url, encryption_keys=str(settings.encryption_keys))
    print("portal: database is up to date")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    settings.check()  # refuse a bad setting here, before any web process starts
    uvicorn.run(
        "portal.app:create_app_from_env",
        log_config=_logging_config(settings),
        access_log=False,  # the app logs one line per request, with its route and id
        factory=True,
        workers=args.workers,
        host=args.host or settings.host,
        port=args.port or settings.port,
        proxy_headers=False,  # the app believes forwarded headers (PORTAL_FORWARDED_ALLOW_IPS)
        server_header=False,
        log_level=settings.log_level,
    )
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from portal.checks import all_ok, check_portal, table

    settings.check()
    rows = asyncio.run(check_portal(settings))
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for line in table(rows, colour=colour):
        print(line)
    return 0 if all_ok(rows) else 1


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import signal

    from portal.runtime import open_runtime
    from portal.workers import run_workers

    settings.check()
    logging.config.dictConfig(_logging_config(settings))
    logs.install_context()

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with open_runtime(settings) as runtime:
            with _metrics_served(settings, runtime):
                await run_workers(runtime, stop)

    asyncio.run(work())
    return 0


def _logging_config(settings: Settings) -> dict[str, Any]:
    production = settings.mode is Mode.PRODUCTION
    log_format = logs.resolved_format(settings.log_format, production=production)
    return logs.logging_config(settings.log_level, log_format)


@contextlib.contextmanager
def _metrics_served(settings: Settings, runtime: Runtime) -> Iterator[None]:
    """``PORTAL_METRICS_PORT``: this worker's metrics, the queue included, on PORTAL_HOST;
    behind ``PORTAL_METRICS_TOKEN`` when it is set."""
    if not settings.metrics_port:
        yield
        return
    from portal.jobs.metrics import watch_queue
    from portal.telemetry import serve_worker_metrics
    from portal.workers import job_handlers

    watch_queue(runtime.sessions, job_handlers())
    server, thread = serve_worker_metrics(
        settings.host, settings.metrics_port, str(settings.metrics_token)
    )
    logging.getLogger(__name__).info(
        "metrics on http://%s:%s/metrics", settings.host, settings.metrics_port
    )
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _link(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from portal.shopper.commands import make_order_link

    settings.check()
    try:
        url = asyncio.run(
            make_order_link(
                settings, store_slug=args.store, order=args.order, order_id=args.order_id
            )
        )
    except LookupError as exc:
        return _failed("portal link", [_first_line(exc)], 1)
    print(url)
    return 0


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from portal.accounts import commands

    settings.check()
    if not args.reset_password and args.role is None:
        return _failed("portal create-user", ["--role is required to create a user"], 2)
    try:
        password = commands.read_password(from_stdin=args.password_stdin)
        if args.reset_password:
            line = asyncio.run(commands.reset_password(settings.database_url, args.email, password))
        else:
            new_user = commands.NewUser(args.email, args.role, args.store)
            line = asyncio.run(commands.create_user(settings.database_url, new_user, password))
    except AccountError as exc:
        return _failed("portal create-user", [exc.message], 1)
    print(line)
    return 0


def _sync_orders(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from portal.billing.commands import sync_orders_command

    settings.check()
    line = asyncio.run(sync_orders_command(settings, store_slug=args.store, month=args.month))
    print(line)
    return 0


def _close_invoice(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from portal.billing.commands import close_invoice_command

    settings.check()
    line = asyncio.run(
        close_invoice_command(settings, store_slug=args.store, month=args.month, closed_by=args.by)
    )
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
