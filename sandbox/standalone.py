"""``portal sandbox``: sandbox Shopify, sandbox Corso and a mail sink as one outside service.

A portal run as in production (``portal serve``, ``portal worker``, PostgreSQL) points at it
through the settings it writes to an env file (``portal --env-file var/sandbox.env ...``): the
Shopify GraphQL and OAuth endpoints, the Shopify app's client id and secret, Corso's API and
token endpoints, and the SMTP server. Nothing of the portal runs here: merchants install the
app on its shops through the portal's own install flow, and the portal reaches it only over
HTTP and SMTP, as it reaches the real services.

Its pages: ``/sandbox/`` (shops to install the app on, orders to try, the mail received),
``/sandbox/orders.json``, ``/sandbox/mailbox.json``, ``/sandbox/services.json``; ``/healthz``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from portal import logs
from portal.clock import utcnow
from sandbox import parcels
from sandbox.corso import create_corso_sandbox
from sandbox.demo import build_demo_world
from sandbox.mail_sink import start_mail_sink
from sandbox.shopify import create_shopify_sandbox
from sandbox.views import PARCEL_WORDS, SandboxPages, shop_panels, suggestions, tryable_orders
from sandbox.webhooks import WebhookSender
from sandbox.world import SandboxWorld

SANDBOX_PORT = 8700
SMTP_PORT = 8025
SHOWN_EMAILS = 50
PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "standalone"),
    autoescape=True,
)


def environment_lines(world: SandboxWorld, *, smtp_port: int) -> list[str]:
    """The ``PORTAL_*`` lines that point a portal at this sandbox (its base URL included: the
    sandbox's app sends installs back to it and delivers webhooks there)."""
    settings = {"base_url": world.base_url, **world.portal_settings(smtp_port=smtp_port)}
    return [f"PORTAL_{name.upper()}={value}" for name, value in settings.items()]


def write_env_file(path: Path, lines: Sequence[str], *, about: str) -> None:
    """``lines`` as an env file the portal reads beneath its environment (0600: it holds the
    sandbox app's secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text("".join(f"# {line}\n" for line in about.splitlines()) + "\n".join(lines) + "\n")


def create_sandbox_app(world: SandboxWorld, *, smtp_port: int) -> Starlette:
    """The sandbox on its own: machine endpoints, JSON views and one page for people."""
    pages = SandboxPages(world)
    form_token = secrets.token_urlsafe(24)  # the page's forms carry it: no cross-site posts

    async def home(request: Request) -> Response:
        page = PAGES.get_template("index.html").render(
            world=world,
            shops=shop_panels(world),
            stores=[(spec, suggestions(tryable_orders(world, spec))) for spec in world.stores],
            steps=parcels.STEPS,
            parcel_words=PARCEL_WORDS,
            form_token=form_token,
            emails=list(reversed(world.mailbox.all()))[:SHOWN_EMAILS],
            environment=environment_lines(world, smtp_port=smtp_port),
        )
        return HTMLResponse(page)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def move_parcel(request: Request) -> Response:
        """The page's "Move" button: the carrier moves a parcel along."""
        form = await request.form()
        given = str(form.get("form_token", ""))
        shop = world.shopify.find_shop(request.path_params["shop"])
        if not hmac.compare_digest(given.encode(), form_token.encode()) or shop is None:
            return PlainTextResponse("The form expired, or no such shop: reload the page.", 403)
        refused = pages.parcel_moved(shop, request.path_params["order"], form.get("step"))
        return refused or RedirectResponse("/sandbox/", status_code=303)

    routes: list[BaseRoute] = [
        Route("/", home, name="home"),
        Route("/orders.json", pages.orders_json, name="orders_json"),
        Route("/mailbox.json", pages.mailbox_json, name="mailbox_json"),
        Route("/calls.json", pages.calls_json, name="calls_json"),
        Route("/services.json", pages.services_json, name="services_json"),
        Route("/shops/{shop}/orders/{order}/parcel", move_parcel, methods=["POST"]),
        Route("/shops/{shop}/plan", pages.plan, methods=["POST"], name="plan"),
        Mount("/shopify", app=create_shopify_sandbox(world.shopify), name="shopify"),
        Mount("/corso", app=create_corso_sandbox(world.corso), name="corso"),
    ]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Mount("/sandbox", routes=routes, name="sandbox"),
        ]
    )


def run_sandbox(
    *,
    host: str,
    port: int,
    smtp_port: int,
    portal_url: str,
    env_file: Path,
    plan: str = "standard",
    log_level: str = "info",
) -> int:
    """Serve until interrupted; the demo world is built fresh at each start."""
    world, _ = build_demo_world(
        now=utcnow(), base_url=portal_url.rstrip("/"), sandbox_url=f"http://{host}:{port}"
    )
    for shop in world.shopify.shops():
        world.shopify.set_plan(shop.domain, plan)
    sink = start_mail_sink(world.mailbox, host=host, port=smtp_port)
    lines = environment_lines(world, smtp_port=sink.port)
    write_env_file(
        env_file,
        lines,
        about=f"Written by `portal sandbox`: a portal at {world.base_url} using the sandbox at "
        f"{world.services_url}.\nIt is rewritten at each start; settings set in the "
        "environment win over these.",
    )
    webhooks = WebhookSender(world.shopify).start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_sandbox_app(world, smtp_port=sink.port),
            host=host,
            port=port,
            log_config=logs.logging_config(log_level, "text"),
            log_level="warning",
            access_log=False,
            server_header=False,
        )
    )
    banner = (
        f"\n  Sandbox Shopify, Corso and mail: {world.services_url}/sandbox/"
        f"\n  SMTP on {host}:{sink.port}; settings for the portal at {world.base_url} in "
        f"{env_file}:\n    portal --env-file {env_file} check\n"
    )

    def announce() -> None:  # once it listens: whoever waits for the banner may connect
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(banner, flush=True)

    threading.Thread(target=announce, name="sandbox-banner", daemon=True).start()
    try:
        server.run()
    finally:
        webhooks.stop()
        sink.stop()
    return 0
