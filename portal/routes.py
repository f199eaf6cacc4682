"""One table of named routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from portal.sandbox.world import SandboxWorld
from portal.settings import Settings
from portal.shopper import filing, status
from portal.shopper import views as shopper
from portal.web import STATIC_DIR

GET_POST = ["GET", "POST"]


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def shopper_routes() -> list[BaseRoute]:
    """Everything under /{store}/: the shopper's flow for one store."""
    return [
        Route("/", shopper.lookup, methods=GET_POST, name="lookup"),
        Route("/theme.css", shopper.theme, name="theme"),
        Route("/verify", shopper.verify, methods=GET_POST, name="verify"),
        Route("/r/{token}", shopper.order_link, methods=GET_POST, name="order_link"),
        Route("/sign-out", shopper.sign_out, methods=["POST"], name="sign_out"),
        Route("/request", filing.request_page, methods=GET_POST, name="request"),
        Route("/review/{draft}", filing.review, methods=GET_POST, name="review"),
        Route(
            "/requests/{reference}", status.by_reference, methods=GET_POST, name="request_status"
        ),
        Route("/s/{token}", status.by_link, methods=GET_POST, name="status_link"),
    ]


def build_routes(settings: Settings, *, sandbox: SandboxWorld | None) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/", shopper.landing, name="landing"),
        Route("/healthz", health, name="health"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    if sandbox is not None and settings.is_demo:
        from portal.sandbox.routes import sandbox_routes

        routes.append(Mount("/sandbox", routes=sandbox_routes(sandbox), name="sandbox"))
    routes.append(Mount("/{store}", routes=shopper_routes(), name="shopper"))
    return routes
