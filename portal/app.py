"""The application factory: ``create_app(settings)`` returns the Starlette app;
``create_app_from_env()`` builds it from the ``PORTAL_*`` environment, for ASGI servers that
import the app in each of their processes (``uvicorn --factory portal.app:create_app_from_env``).

The lifespan owns what lives as long as the process (``portal.runtime.Runtime``): the database
engine, the shared ``httpx.AsyncClient`` every outside-service client is built on, and, when
``PORTAL_RUN_WORKER`` is on, a job worker in the same process.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypedDict

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from portal import logs
from portal.csrf import CsrfMiddleware
from portal.devices import DeviceCookieMiddleware
from portal.errors import StorageUnavailable, StoreInactive
from portal.errors_pages import (
    database_busy,
    http_error,
    server_error,
    storage_unavailable,
    store_inactive,
)
from portal.i18n import LocaleMiddleware
from portal.jobs.metrics import stop_watching_queue, watch_queue
from portal.limits import BodySizeLimitMiddleware
from portal.models import import_all_models
from portal.reconnect import ReconnectMiddleware
from portal.routes import build_routes
from portal.runtime import Runtime, open_runtime
from portal.security import (
    AllowedHostsMiddleware,
    NulRefusalMiddleware,
    SecurityHeadersMiddleware,
)
from portal.settings import Mode, Settings
from portal.signing import Signer
from portal.telemetry import RequestTelemetry
from portal.web import templates
from portal.webhooks.views import MAX_BODY_BYTES
from portal.workers import job_handlers, worker_running

# Machine-to-machine endpoints: signed by other means (HMAC, tokens), never posted by browsers.
CSRF_EXEMPT = ("/webhooks/",)
# Paths that never get the shopper's device cookie: staff pages, webhooks, files, probes.
STAFF_AND_MACHINES = ("/support", "/webhooks/", "/static/", "/shopify", "/healthz", "/readyz")


class State(TypedDict):
    settings: Settings
    runtime: Runtime
    sessions: async_sessionmaker[AsyncSession]
    signer: Signer


def create_app(
    settings: Settings,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    machine_prefixes: Sequence[str] = (),
    quiet_prefixes: Sequence[str] = (),
) -> Starlette:
    """The portal. ``extra_routes`` are mounted before the store pages (the demo mounts its
    sandbox there); ``machine_prefixes`` are further paths posted by machines, not browsers, so
    the CSRF check leaves them alone; requests under ``quiet_prefixes`` are logged at DEBUG
    (the demo's stand-ins for Shopify and Corso, which the portal itself calls)."""
    settings.check()
    import_all_models()  # every table known, whichever page a process serves first

    logs.install_context()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with open_runtime(settings) as runtime, contextlib.AsyncExitStack() as stack:
            collector = watch_queue(runtime.sessions, job_handlers())
            stack.callback(stop_watching_queue, collector)
            if settings.run_worker:
                await stack.enter_async_context(worker_running(runtime))
            yield {
                "settings": settings,
                "runtime": runtime,
                "sessions": runtime.sessions,
                "signer": runtime.signer,
            }

    routes = build_routes(extra_routes)
    app = PortalApp(
        telemetry=lambda inner: RequestTelemetry(
            inner, routes=routes, proxies=settings.trusted_proxies, quiet_prefixes=quiet_prefixes
        ),
        debug=False,
        routes=routes,
        middleware=[
            *_proxy_middleware(settings),
            Middleware(ReconnectMiddleware),
            Middleware(AllowedHostsMiddleware, allowed_hosts=settings.host_names),
            Middleware(SecurityHeadersMiddleware),
            Middleware(NulRefusalMiddleware),
            Middleware(BodySizeLimitMiddleware, per_prefix=(("/webhooks/", MAX_BODY_BYTES),)),
            Middleware(LocaleMiddleware),
            Middleware(CsrfMiddleware, exempt_prefixes=(*CSRF_EXEMPT, *machine_prefixes)),
            Middleware(
                DeviceCookieMiddleware, skip_prefixes=(*STAFF_AND_MACHINES, *machine_prefixes)
            ),
        ],
        lifespan=lifespan,
        exception_handlers={
            HTTPException: http_error,
            StoreInactive: store_inactive,
            StorageUnavailable: storage_unavailable,
            PoolTimeout: database_busy,  # every pooled connection stayed taken
            OperationalError: database_busy,  # SQLite's write lock held too long; else raised
            Exception: server_error,
        },
    )
    app.state.templates = templates
    app.state.metrics_token = str(settings.metrics_token)
    return app


class PortalApp(Starlette):
    """Starlette with ``RequestTelemetry`` around everything, its error handling included: the
    one place that sees every request's final status, and every failure once."""

    def __init__(self, *, telemetry: Callable[[ASGIApp], ASGIApp], **options: Any) -> None:
        self._telemetry = telemetry
        super().__init__(**options)

    def build_middleware_stack(self) -> ASGIApp:
        return self._telemetry(super().build_middleware_stack())


def create_app_from_env() -> Starlette:
    """The portal with the settings of the environment: what each web process serves. Under
    a server that left logging unconfigured, the portal's own logging is set up."""
    settings = Settings.from_env()
    if not logging.getLogger().handlers:
        logs.configure(
            settings.log_level,
            logs.resolved_format(settings.log_format, production=settings.mode is Mode.PRODUCTION),
        )
    return create_app(settings)


def _proxy_middleware(settings: Settings) -> list[Middleware]:
    """Believe X-Forwarded-For/-Proto only from the configured proxies; the client is the
    rightmost address a trusted proxy appended, whatever the client wrote before it."""
    proxies = settings.trusted_proxies
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)] if proxies else []
