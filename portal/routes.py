"""One table of named routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from portal.sandbox.world import SandboxWorld
from portal.settings import Settings
from portal.shopper import views as shopper
from portal.web import STATIC_DIR


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def build_routes(settings: Settings, *, sandbox: SandboxWorld | None) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/", shopper.landing, name="landing"),
        Route("/healthz", health, name="health"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    if sandbox is not None and settings.is_demo:
        from portal.sandbox.routes import sandbox_routes

        routes.insert(0, Mount("/sandbox", routes=sandbox_routes(sandbox), name="sandbox"))
    return routes
