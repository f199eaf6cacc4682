"""How fast the portal's pages answer, against the framework's own floor.

Starts the production layout (``portal sandbox`` as the outside services, one ``portal serve``
process and one worker, see ``tests/helpers/layout.py``) on SQLite or PostgreSQL, files one
request as a shopper would and signs an admin in, captures the HTML of each page below, and
starts a bare Starlette + Jinja2 app that renders that very HTML under the same uvicorn options.
Then drives both with wrk, alternating bare and portal page by page, for several rounds, and
prints each side's req/s and p50/p99 latency and the ratio portal / bare (medians of the rounds),
the CPU time each server process spent per answered request (from /proc: unlike req/s, it
holds still while other work shares the machine) and its ratio bare / portal, then the peak
resident memory (VmHWM) of the `portal serve` process under the load (and
while setting up, which includes an admin's sign-in).

Pages: the landing page, a store's lookup form, a request's status page, the request form (a
verified shopper's session), the support queue and a request's page (an admin's session).

    .venv/bin/python -m benchmarks.pages                         # SQLite
    .venv/bin/python -m benchmarks.pages --database-url postgresql://postgres@127.0.0.1:5432/test

Needs wrk (Debian: apt-get install wrk). On PostgreSQL a scratch database is created beside the
given one and dropped afterwards. The sandbox's shops are on Shopify's enterprise plan unless
``--plan`` says otherwise, so the pages measure the portal's own work, not Shopify's bucket.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from benchmarks.queue import scratch_database
from tests.helpers.crowd import Seen, Shopper, reading_mail
from tests.helpers.layout import Layout, answers, deployed, wait_until
from tests.helpers.servers import free_port
from tests.helpers.shopper_flow import REPORTABLE, csrf_of

ADMIN = ("bench-admin@example.com", "bench-password-2026")


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    cookie: str  # the Cookie header wrk sends ("" for none)


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    answered: int = 0
    cpu_ms: float = 0.0  # the server process's CPU time per answered request


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the portal's side --------------------------------------------------------------------------


def cookie_header(cookies: httpx.Cookies) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in cookies.jar)


def shopper_pages(layout: Layout) -> list[Page]:
    """File one request; the request form is captured for a second order of the same store."""
    store = layout.services()["stores"][0]
    orders = httpx.get(f"{layout.sandbox_url}/orders.json").json()["orders"]
    mine = [
        o
        for o in orders
        if o["store"] == store["slug"]
        and o["protected"]
        and o["parcel"] in REPORTABLE
        and not o["cancelled"]
    ]
    status_path, (form_path, form_cookie) = asyncio.run(_file_and_verify(layout, store, mine[:2]))
    slug = store["slug"]
    return [
        Page("landing", "/", ""),
        Page("lookup form", f"/{slug}/", ""),
        Page("status page", status_path, ""),
        Page("request form", form_path, form_cookie),
    ]


async def _file_and_verify(
    layout: Layout, store: dict[str, Any], orders: list[dict[str, Any]]
) -> tuple[str, tuple[str, str]]:
    """The status page of a request filed for the first order, and the request form's path and
    session cookie for the second, verified but not filed."""
    live = [p.port for p in layout.web if p.port is not None]
    seen = Seen()
    filer, verifier = (Shopper(n, order, store, live, seen) for n, order in enumerate(orders))
    async with reading_mail(layout.sandbox_url) as mail:
        try:
            status = await filer.file(mail)
            form = await verifier.verify(mail)
        finally:
            await filer.client.aclose()
            await verifier.client.aclose()
    assert status is not None and form is not None, seen.failed
    status_path = status.url.raw_path.decode().split("?")[0]
    return status_path, (form.url.raw_path.decode(), cookie_header(verifier.client.cookies))


def staff_pages(layout: Layout, base: str) -> list[Page]:
    layout.portal(
        "create-user", "--email", ADMIN[0], "--role", "admin", "--password-stdin", stdin=ADMIN[1]
    )
    staff = httpx.Client(base_url=base, follow_redirects=True, timeout=60)
    login = staff.get("/support/login")
    staff.post(
        "/support/login",
        data={"csrf_token": csrf_of(login), "email": ADMIN[0], "password": ADMIN[1]},
    )
    queue = staff.get("/support/queue")
    reference = re.search(r"/support/requests/(RR-[0-9A-Z]{6})", queue.text)
    assert reference, "the queue lists no request"
    cookie = cookie_header(staff.cookies)
    return [
        Page("queue", "/support/queue", cookie),
        Page("request page", f"/support/requests/{reference.group(1)}", cookie),
    ]


# --- the bare app -------------------------------------------------------------------------------


BARE_APP = """
import jinja2
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader({directory!r}), autoescape=True)
PAGES = {pages!r}


def page(name):
    template = TEMPLATES.get_template(name)

    async def endpoint(request):
        return HTMLResponse(template.render(request=request))

    return endpoint


app = Starlette(routes=[Route(path, page(name)) for path, name in PAGES.items()])
"""


@contextmanager
def bare_app(directory: Path, captured: dict[str, str]) -> Iterator[tuple[str, int]]:
    """The same HTML from Jinja2 templates, under uvicorn as ``portal serve`` runs it."""
    pages = {}
    for index, (path, body) in enumerate(captured.items()):
        name = f"page{index}.html"
        (directory / name).write_text("{% raw %}" + body + "{% endraw %}")
        pages[path] = name
    (directory / "bare_app.py").write_text(
        textwrap.dedent(BARE_APP).format(directory=str(directory), pages=pages)
    )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--no-server-header",
            "--no-proxy-headers",
        ],
        cwd=directory,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until("the bare app", lambda: answers(url + next(iter(captured))))
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


# --- wrk ----------------------------------------------------------------------------------------


def wrk(url: str, cookie: str, *, seconds: int, connections: int) -> Run:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    answered = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Run(rps, _latency(out, "50%"), _latency(out, "99%"), errors, answered=answered)


def _latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plan", default="enterprise")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks.pages needs wrk (Debian: apt-get install wrk)")
    with (
        tempfile.TemporaryDirectory(prefix="bench-pages-") as scratch,
        _database(args.database_url, Path(scratch)) as database_url,
        deployed(Path(scratch), database_url=database_url, plan=args.plan) as layout,
    ):
        base = f"http://127.0.0.1:{layout.web[0].port}"
        pages = shopper_pages(layout) + staff_pages(layout, base)
        captured = {}
        for page in pages:
            answer = httpx.get(
                base + page.path, headers={"Cookie": page.cookie} if page.cookie else {}
            )
            assert answer.status_code == 200, (page, answer.status_code)
            captured[page.path] = answer.text
        serve_pid = layout.web[0].popen.pid
        setup_peak = peak_rss_mb(serve_pid)
        reset_peak_rss(serve_pid)  # from here on, the peak is the load's
        bare_dir = Path(scratch) / "bare"
        bare_dir.mkdir()
        with bare_app(bare_dir, captured) as (bare, bare_pid):
            results: dict[str, dict[str, list[Run]]] = {
                p.name: {"bare": [], "portal": []} for p in pages
            }
            for round_number in range(args.rounds):
                for page in pages:
                    sides = [("bare", bare, bare_pid), ("portal", base, serve_pid)]
                    if round_number % 2:
                        sides.reverse()
                    for side, url, pid in sides:
                        cpu_before = cpu_seconds(pid)
                        run = wrk(
                            url + page.path,
                            page.cookie if side == "portal" else "",
                            seconds=args.seconds,
                            connections=args.connections,
                        )
                        cpu_ms = 1000 * (cpu_seconds(pid) - cpu_before) / max(run.answered, 1)
                        results[page.name][side].append(replace(run, cpu_ms=cpu_ms))
        print(_table(results, database_url, args))
        print(
            f"portal serve peak RSS under the load: {peak_rss_mb(serve_pid):.0f} MB "
            f"(while setting up: {setup_peak:.0f} MB; a staff sign-in's Argon2 hash alone "
            "takes 64 MiB for a moment)"
        )


def _table(
    results: dict[str, dict[str, list[Run]]], database_url: str, args: argparse.Namespace
) -> str:
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    lines = [
        f"{backend}, one portal serve process, wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} alternating rounds, medians; Shopify plan {args.plan}",
        "",
        f"{'page':<14} {'portal req/s':>12} {'bare req/s':>11} {'ratio':>6} "
        f"{'portal p50':>11} {'portal p99':>11} {'bare p99':>9} {'non-2xx':>8} "
        f"{'CPU ms/req portal':>18} {'bare':>6} {'ratio':>6}",
    ]
    for name, sides in results.items():
        portal, bare = sides["portal"], sides["bare"]
        portal_rps = statistics.median(r.rps for r in portal)
        bare_rps = statistics.median(r.rps for r in bare)
        portal_cpu = statistics.median(r.cpu_ms for r in portal) or float("nan")
        bare_cpu = statistics.median(r.cpu_ms for r in bare)
        lines.append(
            f"{name:<14} {portal_rps:>12.0f} {bare_rps:>11.0f} {portal_rps / bare_rps:>6.2f} "
            f"{statistics.median(r.p50_ms for r in portal):>9.1f}ms "
            f"{statistics.median(r.p99_ms for r in portal):>9.1f}ms "
            f"{statistics.median(r.p99_ms for r in bare):>7.1f}ms "
            f"{sum(r.errors for r in portal):>8} "
            f"{portal_cpu:>18.2f} {bare_cpu:>6.2f} {bare_cpu / portal_cpu:>6.2f}"
        )
    return "\n".join(lines)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert found, "no VmHWM in /proc/<pid>/status"
    return int(found.group(1)) / 1024


def reset_peak_rss(pid: int) -> None:
    """Start the process's VmHWM again from its current RSS (Linux's clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextmanager
def _database(given: str, scratch: Path) -> Iterator[str]:
    if given == "sqlite":
        yield f"sqlite:///{scratch / 'pages.db'}"
        return
    with scratch_database(given) as url:
        yield url


if __name__ == "__main__":
    main()
