"""How fast the portal's pages answer, against the framework's own floor.

Starts the production layout (``portal sandbox`` as the outside services, one ``portal serve``
process and one worker, see ``tests/helpers/layout.py``) on SQLite or PostgreSQL, files one
request as a shopper would and signs an admin in, captures the HTML of each page below, and
starts a bare Starlette + Jinja2 app that renders that very HTML under the same uvicorn options.
Then drives both with wrk, alternating bare and portal page by page, for several rounds, and
prints each side's req/s and p50/p99 latency and the ratio portal / bare (medians of the rounds).

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
import html
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.queue import scratch_database
from tests.helpers.layout import Layout, answers, deployed, wait_until
from tests.helpers.servers import free_port
from tests.helpers.shopper_flow import HIDDEN_VERIFICATION, QUANTITY, csrf_of

SUBMIT = re.compile(r'action="([^"]*/review/[^"]+)"')
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


# --- the portal's side --------------------------------------------------------------------------


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


def shopper_pages(layout: Layout, base: str) -> list[Page]:
    """File one request; the request form is captured for a second order of the same shopper."""
    store = layout.services()["stores"][0]
    orders = httpx.get(f"{layout.sandbox_url}/orders.json").json()["orders"]
    mine = [
        o
        for o in orders
        if o["store"] == store["slug"] and o["protected"] and o["fulfilled"] and not o["cancelled"]
    ]
    slug = store["slug"]
    status_path = ""
    form_cookie, form_path = "", ""
    for order in mine[:2]:
        shopper = httpx.Client(base_url=base, follow_redirects=True, timeout=60)
        lookup = shopper.get(f"/{slug}/")
        before = max((e["id"] for e in mailbox(layout)), default=0)
        code_page = shopper.post(
            f"/{slug}/",
            data={
                "csrf_token": csrf_of(lookup),
                "order_number": order["number"],
                "email": order["email"],
            },
        )
        verification = HIDDEN_VERIFICATION.search(code_page.text)
        assert verification, code_page.text[:500]
        code = wait_for_code(layout, order["email"], order["number"], before)
        form = shopper.post(
            f"/{slug}/verify",
            data={
                "csrf_token": csrf_of(code_page),
                "verification": verification.group(1),
                "code": code,
            },
        )
        if status_path:  # the second order: keep its verified session at the request form
            form_path, form_cookie = str(form.url.raw_path.decode()), cookie_header(shopper)
            break
        review = shopper.post(
            f"/{slug}/request",
            data={
                "csrf_token": csrf_of(form),
                "issue_type": "Lost",
                "resolution": "reorder",
                "description": "The parcel never came.",
                "first_name": "Jane",
                "last_name": "Doe",
                "address1": "1 Main St",
                "city": "Springfield",
                "province_code": "IL",
                "zip": "62704",
                "country_code": "US",
                QUANTITY.findall(form.text)[0]: "1",
            },
        )
        action = SUBMIT.search(review.text)
        assert action, review.text[:500]
        status = shopper.post(html.unescape(action.group(1)), data={"csrf_token": csrf_of(review)})
        assert status.status_code == 200 and "Request received" in status.text
        status_path = status.url.raw_path.decode().split("?")[0]
    return [
        Page("landing", "/", ""),
        Page("lookup form", f"/{slug}/", ""),
        Page("status page", status_path, ""),
        Page("request form", form_path, form_cookie),
    ]


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
    cookie = cookie_header(staff)
    return [
        Page("queue", "/support/queue", cookie),
        Page("request page", f"/support/requests/{reference.group(1)}", cookie),
    ]


def mailbox(layout: Layout) -> list[dict[str, Any]]:
    emails: list[dict[str, Any]] = httpx.get(f"{layout.sandbox_url}/mailbox.json").json()["emails"]
    return emails


def wait_for_code(layout: Layout, to: str, order: str, after: int) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for email in mailbox(layout):
            text = str(email["text"])
            if int(str(email["id"])) > after and email["to"] == to and f"order {order}" in text:
                found = re.search(r"\b(\d{6})\b", text)
                assert found
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no code for {order}")


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
def bare_app(directory: Path, captured: dict[str, str]) -> Iterator[str]:
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
        yield url
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
    return Run(rps, _latency(out, "50%"), _latency(out, "99%"), errors)


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
        pages = shopper_pages(layout, base) + staff_pages(layout, base)
        captured = {}
        for page in pages:
            answer = httpx.get(
                base + page.path, headers={"Cookie": page.cookie} if page.cookie else {}
            )
            assert answer.status_code == 200, (page, answer.status_code)
            captured[page.path] = answer.text
        bare_dir = Path(scratch) / "bare"
        bare_dir.mkdir()
        with bare_app(bare_dir, captured) as bare:
            results: dict[str, dict[str, list[Run]]] = {
                p.name: {"bare": [], "portal": []} for p in pages
            }
            for round_number in range(args.rounds):
                for page in pages:
                    sides = [("bare", bare), ("portal", base)]
                    if round_number % 2:
                        sides.reverse()
                    for side, url in sides:
                        run = wrk(
                            url + page.path,
                            page.cookie if side == "portal" else "",
                            seconds=args.seconds,
                            connections=args.connections,
                        )
                        results[page.name][side].append(run)
        print(_table(results, database_url, args))


def _table(
    results: dict[str, dict[str, list[Run]]], database_url: str, args: argparse.Namespace
) -> str:
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    lines = [
        f"{backend}, one portal serve process, wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} alternating rounds, medians; Shopify plan {args.plan}",
        "",
        f"{'page':<14} {'portal req/s':>12} {'bare req/s':>11} {'ratio':>6} "
        f"{'portal p50':>11} {'portal p99':>11} {'bare p99':>9} {'non-2xx':>8}",
    ]
    for name, sides in results.items():
        portal, bare = sides["portal"], sides["bare"]
        portal_rps = statistics.median(r.rps for r in portal)
        bare_rps = statistics.median(r.rps for r in bare)
        lines.append(
            f"{name:<14} {portal_rps:>12.0f} {bare_rps:>11.0f} {portal_rps / bare_rps:>6.2f} "
            f"{statistics.median(r.p50_ms for r in portal):>9.1f}ms "
            f"{statistics.median(r.p99_ms for r in portal):>9.1f}ms "
            f"{statistics.median(r.p99_ms for r in bare):>7.1f}ms "
            f"{sum(r.errors for r in portal):>8}"
        )
    return "\n".join(lines)


@contextmanager
def _database(given: str, scratch: Path) -> Iterator[str]:
    if given == "sqlite":
        yield f"sqlite:///{scratch / 'pages.db'}"
        return
    with scratch_database(given) as url:
        yield url


if __name__ == "__main__":
    main()
