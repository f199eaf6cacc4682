"""``portal demo``: added to the ``portal`` command through its ``portal.commands`` entry point."""

from __future__ import annotations

import argparse

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
