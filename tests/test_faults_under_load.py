"""The process layout under faults, as the README deploys it: PostgreSQL (a server of the test's
own, so it can be restarted), three ``portal serve`` processes, two ``portal worker`` processes
and ``portal sandbox`` as the outside services, each its own OS process.

100 shoppers file requests at once (look the order up, read the code from the mail, pick an
item, review, submit), each from its own address behind the trusted proxy, while the test
SIGKILLs one web process, SIGKILLs a worker and starts another, and restarts PostgreSQL. A
shopper whose web process vanished goes on at another one, as a load balancer would send them.

Afterwards: every accepted request is stored once, every email went out once (each code in one
email, each request's receipt once), no job is left running past its lease, and no shopper saw a
5xx except from the process that was killed. The figures are printed (``-s`` shows them).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.layout import Layout, deployed, wait_until
from tests.helpers.postgres_cluster import PostgresCluster, postgres_cluster
from tests.helpers.shopper_flow import CSRF, HIDDEN_VERIFICATION, QUANTITY

pytestmark = [pytest.mark.e2e, pytest.mark.crash, pytest.mark.slow, pytest.mark.timeout(420)]

SHOPPERS = 100
WEB_PROCESSES = 3
STORES = ("maple-and-moss", "harbor-outfitters")
SUBMIT = re.compile(r'action="([^"]*/review/[^"]+)"')
REFERENCE = re.compile(r"RR-[2-9A-HJ-NP-Z]{6}")


# --- processes ---------------------------------------------------------------------------------


# --- shoppers ----------------------------------------------------------------------------------


@dataclass
class Seen:
    """What the shoppers saw."""

    answers: Counter[tuple[int, int]] = field(default_factory=Counter)  # (port, status): n
    vanished: Counter[int] = field(default_factory=Counter)  # port: connections lost
    server_errors: list[tuple[int, int, str]] = field(default_factory=list)  # port, status, path
    accepted: dict[str, str] = field(default_factory=dict)  # order key: reference
    failed: dict[str, str] = field(default_factory=dict)  # order key: why
    latencies: list[float] = field(default_factory=list)
    started_again: list[str] = field(default_factory=list)  # shoppers who began again


def title(page: httpx.Response) -> str:
    """The page's heading, and its first message if it shows one."""
    found = [
        re.sub(r"<[^>]+>|\s+", " ", m).strip()
        for m in re.findall(
            r"<h1[^>]*>(.*?)</h1>|<p class=\"(?:error|notice)[^\"]*\"[^>]*>(.*?)</p>",
            page.text,
            re.S,
        )
        for m in m
        if m
    ]
    return " / ".join(found[:2]) or page.text[:80]


class Abandoned(Exception):
    """A shopper met a page they could not go on from."""


class Mail:
    """The sandbox's mailbox, read for every shopper at once."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client, self.url = client, url
        self.emails: list[dict[str, Any]] = []

    async def poll(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with suppress(httpx.HTTPError):
                self.emails = (await self.client.get(self.url)).json()["emails"]
            await asyncio.sleep(0.3)

    async def code(self, to: str, store_name: str, order: str, after: int) -> str:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for email in self.emails:
                if (
                    email["id"] > after
                    and email["to"] == to
                    and f"order {order} at {store_name}" in email["text"]
                ):
                    found = re.search(r"\b(\d{6})\b", email["text"])
                    assert found is not None
                    return found.group(1)
            await asyncio.sleep(0.2)
        raise AssertionError(f"no code for {order} reached {to}")

    def last_id(self) -> int:
        return max((e["id"] for e in self.emails), default=0)


class Shopper:
    def __init__(
        self, number: int, order: dict[str, Any], store: dict[str, Any], live: list[int], seen: Seen
    ) -> None:
        self.order, self.store, self.live, self.seen = order, store, live, seen
        self.key = f"{store['slug']}/{order['number']}"
        self.address = f"10.{number // 250}.{number % 250}.7"
        self.port = live[number % len(live)]
        self.lost = 0  # connections this shopper lost to a killed process
        self.client = httpx.AsyncClient(timeout=60, follow_redirects=False)

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One step; a web process that vanished sends the shopper to another, once each."""
        for _ in range(WEB_PROCESSES + 1):
            if self.port not in self.live:
                self.port = self.live[0]
            url = path if path.startswith("http") else f"http://127.0.0.1:{self.port}{path}"
            url = re.sub(r"^http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{self.port}", url)
            started = time.monotonic()
            try:
                response = await self.client.request(
                    method, url, headers={"X-Forwarded-For": self.address}, **kwargs
                )
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                self.seen.vanished[self.port] += 1
                self.lost += 1
                if self.port in self.live and len(self.live) > 1:
                    self.port = next(p for p in self.live if p != self.port)
                await asyncio.sleep(0.2)
                continue
            self.seen.latencies.append(time.monotonic() - started)
            self.seen.answers[(self.port, response.status_code)] += 1
            if response.status_code >= 500:
                self.seen.server_errors.append((self.port, response.status_code, path))
            if response.status_code in (307, 308):
                return await self.send(method, response.headers["location"], **kwargs)
            if response.is_redirect:
                return await self.send("GET", response.headers["location"])
            return response
        raise AssertionError(f"{self.key}: no web process answered {path}")

    async def post(self, path: str, page: httpx.Response, data: dict[str, Any]) -> httpx.Response:
        token = CSRF.search(page.text)
        if token is None:
            raise Abandoned(f"{page.url.path} answered {page.status_code}: {title(page)}")
        return await self.send(
            "POST", path, data={"csrf_token": html.unescape(token.group(1)), **data}
        )

    async def file(self, mail: Mail) -> None:
        slug = self.store["slug"]
        lookup = await self.send("GET", f"/{slug}/")
        before = mail.last_id()
        code_page = await self.post(
            f"/{slug}/",
            lookup,
            {"order_number": self.order["number"], "email": self.order["email"]},
        )
        hidden = HIDDEN_VERIFICATION.search(code_page.text)
        if hidden is None:
            self.seen.failed[self.key] = (
                f"lookup answered {code_page.status_code}: {title(code_page)}"
            )
            return
        code = await mail.code(
            self.order["email"], self.store["name"], self.order["number"], before
        )
        form = await self.post(
            f"/{slug}/verify", code_page, {"verification": hidden.group(1), "code": code}
        )
        quantities = QUANTITY.findall(form.text)
        if not quantities:
            self.seen.failed[self.key] = f"request form answered {form.status_code}: {title(form)}"
            return
        review = await self.post(
            f"/{slug}/request",
            form,
            {
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
                quantities[0]: "1",
            },
        )
        action = SUBMIT.search(review.text)
        if action is None:
            self.seen.failed[self.key] = f"review answered {review.status_code}: {title(review)}"
            return
        status = await self.post(html.unescape(action.group(1)), review, {})
        reference = REFERENCE.search(status.text)
        if status.status_code == 200 and reference and "Request received" in status.text:
            self.seen.accepted[self.key] = reference.group(0)
        else:
            self.seen.failed[self.key] = f"submit answered {status.status_code}: {title(status)}"

    async def run(self, mail: Mail) -> None:
        """File the request; a shopper whose page died with its web process (a code it had
        used, a form it had sent) starts again once from the order lookup, as people do."""
        try:
            for attempt in range(2):
                lost_before = self.lost
                self.seen.failed.pop(self.key, None)
                try:
                    await self.file(mail)
                except Abandoned as exc:
                    self.seen.failed[self.key] = str(exc)
                if self.key not in self.seen.failed or attempt or self.lost == lost_before:
                    return
                self.seen.started_again.append(self.key)
        finally:
            await self.client.aclose()


def pick_orders(sandbox_url: str, services: dict[str, Any]) -> list[tuple[dict[str, Any], dict]]:
    orders = httpx.get(f"{sandbox_url}/orders.json").json()["orders"]
    stores = {s["slug"]: s for s in services["stores"]}
    usable = [
        o for o in orders if o["protected"] and o["fulfilled"] and not o["cancelled"] and o["email"]
    ]
    per_store = SHOPPERS // len(STORES)
    picked = []
    for slug in STORES:
        mine = [o for o in usable if o["store"] == slug][:per_store]
        assert len(mine) == per_store, f"{slug} has only {len(mine)} orders to file"
        picked += [(o, stores[slug]) for o in mine]
    return picked


# --- faults ------------------------------------------------------------------------------------


@dataclass
class Faults:
    killed_web_port: int | None = None
    timeline: list[tuple[float, str]] = field(default_factory=list)


async def inflict(
    layout: Layout, cluster: PostgresCluster, live: list[int], faults: Faults, started: float
) -> None:
    def note(what: str) -> None:
        faults.timeline.append((round(time.monotonic() - started, 1), what))

    await asyncio.sleep(3)
    victim = layout.web[1]
    live.remove(victim.port)  # the balancer sends no new shoppers there
    await asyncio.to_thread(victim.kill)
    faults.killed_web_port = victim.port
    note(f"SIGKILL web process on port {victim.port}")
    await asyncio.sleep(2)
    await asyncio.to_thread(layout.workers[0].kill)
    note("SIGKILL worker 0")
    await asyncio.sleep(2)
    layout.workers.append(layout.start("worker2", "worker"))
    note("started worker 2")
    await asyncio.sleep(2)
    note("PostgreSQL restart begins")
    await asyncio.to_thread(cluster.restart)
    note("PostgreSQL restart done")


# --- the test ----------------------------------------------------------------------------------


def test_a_hundred_shoppers_through_killed_processes_and_a_database_restart(
    tmp_path: Path,
) -> None:
    with (
        postgres_cluster() as cluster,
        deployed(
            tmp_path,
            database_url=cluster.url,
            web_processes=WEB_PROCESSES,
            workers=2,
            plan="plus",  # faults are the subject here, not Shopify's standard-plan rate limit
        ) as layout,
    ):
        services = layout.services()
        picked = pick_orders(layout.sandbox_url, services)
        seen, faults = Seen(), Faults()
        live = [p.port for p in layout.web if p.port is not None]
        started = time.monotonic()

        async def everything() -> None:
            stop = asyncio.Event()
            async with httpx.AsyncClient(timeout=30) as client:
                mail = Mail(client, f"{layout.sandbox_url}/mailbox.json")
                poller = asyncio.create_task(mail.poll(stop))
                shoppers = [
                    Shopper(n, order, store, live, seen) for n, (order, store) in enumerate(picked)
                ]

                async def arrive(n: int, shopper: Shopper) -> None:
                    await asyncio.sleep(n * 0.08)  # 100 shoppers over 8 s, through the faults
                    await shopper.run(mail)

                await asyncio.gather(
                    inflict(layout, cluster, live, faults, started),
                    *(arrive(n, s) for n, s in enumerate(shoppers)),
                )
                stop.set()
                await poller

        asyncio.run(everything())
        elapsed = time.monotonic() - started

        # The queue drains: every receipt sent, nothing left running.
        def drained() -> bool:
            with psycopg.connect(cluster.url) as db:
                left = db.execute(
                    "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') "
                    "AND run_after < now() + interval '1 minute'"
                ).fetchone()
                return left is not None and left[0] == 0

        wait_until("the queue to drain", drained, seconds=120)
        mailbox = httpx.get(f"{layout.sandbox_url}/mailbox.json").json()["emails"]
        with psycopg.connect(cluster.url) as db:
            stored = db.execute(
                "SELECT s.slug, r.order_name, r.reference FROM reorder_requests r "
                "JOIN stores s ON s.id = r.store_id"
            ).fetchall()
            overdue = db.execute(
                "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_expires_at < now()"
            ).fetchone()
            job_states = dict(
                db.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
            )
            rerun_emails = [
                f"<job-{job_id}@reorder-portal>"
                for (job_id,) in db.execute(
                    "SELECT id FROM jobs WHERE kind = 'email.send' AND attempts > 1"
                ).fetchall()
            ]

        receipts = Counter(
            REFERENCE.search(e["subject"]).group(0)  # type: ignore[union-attr]
            for e in mailbox
            if "we received your request" in e["subject"]
        )
        codes: dict[str, set[str]] = {}
        for e in mailbox:
            if "is your code" in e["subject"] or "verification code" in e["text"]:
                code = re.search(r"\b(\d{6})\b", e["text"]).group(1)  # type: ignore[union-attr]
                codes.setdefault(code, set()).add(e["meta"]["message_id"])
        # An email is a job; a copy of one is the same Message-ID arriving again.
        copies = {
            mid: n for mid, n in Counter(e["meta"]["message_id"] for e in mailbox).items() if n > 1
        }
        killed = faults.killed_web_port
        latencies = sorted(seen.latencies)
        report = {
            "shoppers": SHOPPERS,
            "accepted": len(seen.accepted),
            "not accepted": seen.failed,
            "stored requests": len(stored),
            "wall seconds": round(elapsed, 1),
            "answers by (port, status)": {
                f"{p}/{s}": n for (p, s), n in sorted(seen.answers.items())
            },
            "connections lost by port": dict(seen.vanished),
            "shoppers who started again": seen.started_again,
            "5xx": seen.server_errors,
            "killed web port": killed,
            "faults": faults.timeline,
            "step latency p50/p99 ms": (
                round(median(latencies) * 1000),
                round(latencies[int(len(latencies) * 0.99) - 1] * 1000),
            ),
            "emails": len(mailbox),
            "emails that arrived twice (Message-ID: copies)": copies,
            "email jobs run more than once": rerun_emails,
            "jobs by status": job_states,
        }
        print("\n" + json.dumps(report, indent=2))

        by_order = Counter(f"{slug}/{name}" for slug, name, _ in stored)
        assert [k for k, n in by_order.items() if n > 1] == [], "a request was stored twice"
        assert {f"{slug}/{name}": ref for slug, name, ref in stored} == seen.accepted
        assert len(seen.accepted) == SHOPPERS, seen.failed
        assert all(receipts[ref] == 1 for ref in seen.accepted.values()), receipts
        assert set(receipts) == set(seen.accepted.values())
        # Exactly once, but for what SMTP cannot promise: an email the SIGKILLed worker had
        # handed to the mail server but not yet recorded as sent goes again, with the same
        # Message-ID (mail clients show such copies once). Nothing else may arrive twice.
        assert set(copies) <= set(rerun_emails), copies
        assert sum(copies.values()) - len(copies) <= 4  # a worker runs at most 4 jobs at once
        assert [c for c, jobs in codes.items() if len(jobs) > 1] == [], "a code sent by two jobs"
        assert overdue is not None and overdue[0] == 0
        assert [e for e in seen.server_errors if e[0] != killed] == [], layout.log("web0")
