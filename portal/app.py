"""The application factory: ``create_app(settings)`` returns the Starlette app.

The lifespan owns what lives as long as the process: the database engine and the shared
``httpx.AsyncClient`` every outside-service client is built on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware

from portal.csrf import CsrfMiddleware
from portal.db import create_engine, session_factory
from portal.i18n import LocaleMiddleware
from portal.routes import build_routes
from portal.sandbox.world import SandboxWorld
from portal.security import SecurityHeadersMiddleware
from portal.settings import Settings
from portal.signing import Signer
from portal.web import templates


# Machine-to-machine endpoints: signed by other means (HMAC, tokens), never posted by browsers.
CSRF_EXEMPT = ("/sandbox/shopify/", "/sandbox/corso/", "/webhooks/")


class State(TypedDict):
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    signer: Signer


def create_app(settings: Settings, *, sandbox: SandboxWorld | None = None) -> Starlette:
    settings.check()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        engine = create_engine(settings.database_url)
        async with httpx.AsyncClient(timeout=httpx.Timeout(settings.shopify_timeout)) as http:
            yield {
                "settings": settings,
                "engine": engine,
                "sessions": session_factory(engine),
                "http": http,
                "signer": Signer(str(settings.secret_key)),
            }
        await engine.dispose()

    app = Starlette(
        debug=False,
        routes=build_routes(settings, sandbox=sandbox),
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(LocaleMiddleware),
            Middleware(CsrfMiddleware, exempt_prefixes=CSRF_EXEMPT),
        ],
        lifespan=lifespan,
    )
    app.state.templates = templates
    app.state.sandbox = sandbox
    return app
