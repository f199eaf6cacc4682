"""``portal demo`` and ``portal sandbox``: added to the ``portal`` command through its
``portal.commands`` entry point."""

from __future__ import annotations

import argparse
from pathlib import Path

from portal.settings import Settings


def add_demo_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="serve the portal with sandbox Shopify and Corso and demo data"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int)
    demo.add_argument(
        "--keep", action="store_true", help="keep the demo database from an earlier run"
    )
    demo.set_defaults(command=run_demo_command)


def run_demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.demo_server import run_demo  # start-up time: uvicorn and the demo world

    return run_demo(settings, host=args.host, port=args.port or settings.port, keep=args.keep)


def add_sandbox_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="serve sandbox Shopify, Corso and a mail server on their own, for a portal run "
        "as in production",
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8700)
    sandbox.add_argument("--smtp-port", type=int, default=8025, help="0: any free port")
    sandbox.add_argument(
        "--portal-url",
        default="http://127.0.0.1:8000",
        help="the portal's PORTAL_BASE_URL: the app's address, install callback and webhooks",
    )
    sandbox.add_argument(
        "--plan",
        choices=["standard", "advanced", "plus", "enterprise"],
        default="standard",
        help="the shops' Shopify plan, which sets their GraphQL rate limit (standard: 100 "
        "points a second)",
    )
    sandbox.add_argument(
        "--write-env",
        type=Path,
        default=Path("var/sandbox.env"),
        help="where to write the portal's settings for this sandbox",
    )
    sandbox.set_defaults(command=run_sandbox_command)


def run_sandbox_command(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.standalone import run_sandbox  # start-up time: uvicorn and the demo world

    return run_sandbox(
        host=args.host,
        port=args.port,
        smtp_port=args.smtp_port,
        portal_url=args.portal_url,
        env_file=args.write_env,
        plan=args.plan,
        log_level=settings.log_level,
    )
