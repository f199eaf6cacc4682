"""``portal stores``: add a store by a custom app's token, list them, show one, change its
settings, and seal every stored secret again under the newest key.

Each subcommand is a ``Subcommand``: a function that adds its arguments, and an async function
that does the work and returns the lines to print. To add one (``sync-webhooks``, say), write the
two and list them in ``SUBCOMMANDS`` below. Refused input (``StoreRefused``, an unknown store, a
token Shopify does not accept) prints one line and exits 2; an outside service that is down exits
1; secrets are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import create_engine, session_factory
from portal.errors import (
    InvalidInput,
    NotFound,
    PortalError,
    Refused,
    SettingsError,
    ShopifyAuthError,
    StoreRefused,
    UnknownStore,
)
from portal.i18n import SUPPORTED_LOCALES
from portal.integrations.shopify import ShopifyClient, ShopInfo
from portal.integrations.shopify.versions import DEFAULT as DEFAULT_API_VERSION
from portal.sealing import Sealer
from portal.settings import Settings
from portal.stores import rules
from portal.stores import service as stores
from portal.stores.models import Store, TokenKind

BAD_INPUT = 2
SERVICE_DOWN = 1

Run = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, list[str]]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Run


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line and exit code 2, like every other refusal here."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT, f"{self.prog}: {message}\n")


def add_stores_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    more: tuple[Subcommand, ...] = (),
) -> None:
    """Add ``portal stores <action>`` to the ``portal`` command; ``more`` are subcommands from
    areas above the stores (installing through Shopify's app, webhook subscriptions)."""
    parser = commands.add_parser(
        "stores", help="add, list, show, update, reseal stores and sync their webhooks"
    )
    # The portal command's subparsers are plain ArgumentParsers; this group answers in one line.
    parser.__class__ = OneLineParser
    actions = parser.add_subparsers(required=True, metavar="action", parser_class=OneLineParser)
    for sub in (*SUBCOMMANDS, *more):
        sub_parser = actions.add_parser(sub.name, help=sub.help, description=sub.help)
        sub.arguments(sub_parser)
        sub_parser.set_defaults(command=_runner(sub.run))


def _runner(run: Run) -> Callable[[argparse.Namespace, Settings], int]:
    def command(args: argparse.Namespace, settings: Settings) -> int:
        settings.check()
        try:
            lines = asyncio.run(run(args, settings))
        except (InvalidInput, NotFound, Refused, ShopifyAuthError, SettingsError) as exc:
            return _refused(_one_line(exc), BAD_INPUT)
        except PortalError as exc:
            return _refused(_one_line(exc), SERVICE_DOWN)
        except SQLAlchemyError as exc:
            return _refused(f"the database could not be used ({type(exc).__name__})", SERVICE_DOWN)
        for line in lines:
            print(line)
        return 0

    return command


def _refused(line: str, code: int) -> int:
    print(f"portal stores: {line}", file=sys.stderr)
    return code


OPTIONS = {"claim_windows": "--claim-window"}
"""The option a refused setting came from, where its name is not the setting's."""


def _one_line(exc: Exception) -> str:
    if isinstance(exc, StoreRefused):
        option = OPTIONS.get(exc.field, "--" + exc.field.replace("_", "-"))
        return " ".join(f"{option}: {exc.message}".split())
    return " ".join(str(exc).split())


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _sealer(settings: Settings) -> Sealer:
    return Sealer.from_text(str(settings.encryption_keys))


async def _store(session: AsyncSession, slug: str) -> Store:
    store = await stores.get_by_slug(session, slug[:64])
    if store is None:
        raise UnknownStore(f"no store {slug!r} (portal stores list shows them)")
    return store


# --- add ---------------------------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop", required=True, help="the shop's domain, x.myshopify.com")
    parser.add_argument(
        "--token", required=True, help="the custom app's Admin API access token (shpat_...)"
    )
    parser.add_argument("--webhook-secret", help="the custom app's webhook signing secret")
    parser.add_argument("--slug", help="the store's name in URLs (default: from the shop)")
    parser.add_argument("--api-version", default=DEFAULT_API_VERSION, help="e.g. 2025-04")


async def _add(args: argparse.Namespace, settings: Settings) -> list[str]:
    """A store reached through a custom app made in the store's own admin (a static token);
    its name, currency, time zone and contact email come from Shopify."""
    domain = rules.shop_domain(args.shop)
    token = rules.access_token(args.token)
    slug = rules.slug(args.slug) if args.slug else rules.slug_from_domain(domain)
    version = rules.api_version(args.api_version)
    webhook_secret = (
        rules.secret(args.webhook_secret, "webhook_secret") if args.webhook_secret else None
    )
    async with _database(settings) as session:
        await _refuse_taken(session, domain, slug)
        info = await _shop_info(settings, domain, token, version)
        spec = stores.StoreSpec(
            name=" ".join(info.name.split())[: rules.MAX_NAME] or slug,
            slug=slug,
            shop_domain=domain,
            access_token=token,
            api_version=version,
            protection_variant_ids=[],
            support_email=rules.email(info.contact_email),
            time_zone=info.iana_timezone,
            currency=info.currency,
            token_kind=TokenKind.STATIC,
            webhook_secret=webhook_secret,
        )
        store = await stores.upsert_store(session, spec, _sealer(settings))
        await session.commit()
    return [
        f"portal: added {store.slug} ({store.name}, {store.shop_domain}): {store.currency}, "
        f"{store.time_zone}, support email {store.support_email}",
        f"portal: next, choose its protection product at /support/stores/{store.slug}/settings",
    ]


async def _refuse_taken(session: AsyncSession, domain: str, slug: str) -> None:
    existing = await stores.get_by_domain(session, domain)
    if existing is not None:
        raise StoreRefused("shop", f"{domain} is already the store {existing.slug}.")
    if await stores.get_by_slug(session, slug) is not None:
        raise StoreRefused("slug", f"The slug {slug} is taken: choose another with --slug.")


async def _shop_info(settings: Settings, domain: str, token: str, version: str) -> ShopInfo:
    async with httpx.AsyncClient(timeout=settings.shopify_timeout) as http:
        client = ShopifyClient(
            http,
            shop_domain=domain,
            access_token=token,
            api_version=version,
            endpoint=settings.shopify_endpoint,
            max_retries=settings.shopify_max_retries,
            max_wait=settings.shopify_max_wait,
        )
        return await client.shop()


# --- list and show -----------------------------------------------------------------------------


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


async def _list(args: argparse.Namespace, settings: Settings) -> list[str]:
    async with _database(settings) as session:
        found = await stores.list_stores(session)
    if not found:
        return ["portal: no stores yet (portal stores add)"]
    rows = [("SLUG", "SHOP", "STATUS", "TOKEN", "API")]
    rows += [
        (
            s.slug,
            s.shop_domain,
            "active" if s.is_active else "uninstalled",
            s.token_kind,
            s.api_version,
        )
        for s in sorted(found, key=lambda s: s.slug)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", help="the store's slug")


async def _show(args: argparse.Namespace, settings: Settings) -> list[str]:
    async with _database(settings) as session:
        store = await _store(session, args.slug)
    return [f"{name}: {value}" for name, value in describe(store)]


def describe(store: Store) -> list[tuple[str, str]]:
    """Every setting of ``store`` as words; a secret only as "set" or "not set"."""

    def secret(sealed: str | None) -> str:
        return "set" if sealed else "not set"

    overrides = ", ".join(f"{k}={v}" for k, v in sorted(store.claim_windows.items())) or "none"
    return [
        ("slug", store.slug),
        ("name", store.name),
        ("shop", store.shop_domain),
        ("status", "active" if store.is_active else f"uninstalled {store.uninstalled_at}"),
        ("token kind", store.token_kind),
        ("access token", secret(store.sealed_access_token)),
        ("refresh token", secret(store.sealed_refresh_token)),
        ("webhook secret", secret(store.sealed_webhook_secret)),
        ("api version", store.api_version),
        ("currency", store.currency),
        ("time zone", store.time_zone),
        ("support email", store.support_email),
        ("support phone", store.support_phone or "none"),
        ("claim window days", str(store.claim_window_days)),
        ("claim windows", overrides),
        ("lost after quiet days", str(store.lost_after_quiet_days)),
        ("lost after estimate days", str(store.lost_after_estimate_days)),
        ("brand color", store.brand_color),
        ("logo", "set" if store.logo_path else "not set"),
        ("protection product", store.protection_product_id or "not chosen"),
        ("protection variants", str(len(store.protection_variant_ids))),
        ("protected order email", "on" if store.protected_order_email else "off"),
        ("default language", store.default_locale),
        ("corso client id", store.corso_client_id or "not set"),
        ("corso client secret", secret(store.sealed_corso_client_secret)),
    ]


# --- update ------------------------------------------------------------------------------------


def _update_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", help="the store's slug")
    parser.add_argument("--support-email")
    parser.add_argument("--support-phone", help='"" removes it')
    parser.add_argument("--claim-window-days", type=int, metavar="N")
    parser.add_argument(
        "--claim-window",
        action="append",
        default=[],
        metavar="TYPE=N",
        help="days for one issue type (LOST, STOLEN, DAMAGED, WRONG_ITEM, MISSING_ITEM); "
        "TYPE=default drops the override; repeat for several",
    )
    parser.add_argument(
        "--lost-after-quiet-days",
        type=int,
        metavar="N",
        help="a parcel may be reported lost after N days without a tracking update",
    )
    parser.add_argument(
        "--lost-after-estimate-days",
        type=int,
        metavar="N",
        help="... or N days past the carrier's estimated delivery (0: once it has passed)",
    )
    parser.add_argument("--brand-color", metavar="#RRGGBB")
    parser.add_argument("--corso-client-id", help='"" removes the Corso client and its secret')
    parser.add_argument("--corso-client-secret", help="- reads it from one line of stdin")
    parser.add_argument("--protected-order-email", choices=["on", "off"])
    parser.add_argument(
        "--default-language",
        metavar="CODE",
        help="the shopper pages' language when the browser asks for none of them: "
        + ", ".join(SUPPORTED_LOCALES),
    )


async def _update(args: argparse.Namespace, settings: Settings) -> list[str]:
    async with _database(settings) as session:
        store = await _store(session, args.slug)
        changes = stores.StoreChanges(
            support_email=args.support_email,
            support_phone=args.support_phone,
            claim_window_days=args.claim_window_days,
            claim_windows=_claim_windows(store, args.claim_window),
            lost_after_quiet_days=args.lost_after_quiet_days,
            lost_after_estimate_days=args.lost_after_estimate_days,
            brand_color=args.brand_color,
            corso_client_id=args.corso_client_id,
            corso_client_secret=_secret_argument(args.corso_client_secret),
            protected_order_email=_switch(args.protected_order_email),
            default_locale=args.default_language,
        )
        changed = stores.apply_changes(
            store, stores.checked_changes(changes, store), _sealer(settings)
        )
        await session.commit()
    if not changed:
        return [f"portal: {args.slug}: nothing changed"]
    return [f"portal: {args.slug}: changed {', '.join(n.replace('_', ' ') for n in changed)}"]


def _claim_windows(store: Store, given: list[str]) -> dict[str, int] | None:
    if not given:
        return None
    windows = dict(store.claim_windows)
    for item in given:
        name, sep, days = item.partition("=")
        if not sep:
            raise StoreRefused("claim_window", f"Give TYPE=DAYS, e.g. LOST=45 (not {item!r}).")
        key = rules.issue_type_key(name)
        if days.strip().lower() == "default":
            windows.pop(key, None)
            continue
        try:
            windows[key] = int(days)
        except ValueError:
            raise StoreRefused("claim_window", f"{days!r} is not a number of days.") from None
    return windows


def _secret_argument(value: str | None) -> str | None:
    if value == "-":
        return sys.stdin.readline().strip()
    return value


def _switch(value: str | None) -> bool | None:
    return None if value is None else value == "on"


# --- reseal ------------------------------------------------------------------------------------


async def _reseal(args: argparse.Namespace, settings: Settings) -> list[str]:
    """After putting a new key first in PORTAL_ENCRYPTION_KEYS: every sealed value is sealed
    again under it, so the old key can be dropped."""
    async with _database(settings) as session:
        count = await stores.reseal_all(session, _sealer(settings))
    return [f"portal: resealed {count} secrets under the first key; older keys may now go"]


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "add", "add a store reached through its own custom app's token", _add_arguments, _add
    ),
    Subcommand("list", "list the stores", _no_arguments, _list),
    Subcommand("show", "show a store's settings (never its secrets)", _show_arguments, _show),
    Subcommand("update", "change a store's settings", _update_arguments, _update),
    Subcommand("reseal", "seal every stored secret under the first key", _no_arguments, _reseal),
)
