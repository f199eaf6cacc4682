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
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import httpx
import psycopg
import pytest

from tests.helpers.crowd import REFERENCE, STORES, Seen, file_at_once, percentile, pick_orders
from tests.helpers.layout import Layout, deployed, wait_until
from tests.helpers.postgres_cluster import PostgresCluster, postgres_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.crash, pytest.mark.slow, pytest.mark.timeout(420)]

SHOPPERS = 100
WEB_PROCESSES = 3


# --- faults ------------------------------------------------------------------------------------


@dataclass
class Faults:
    killed_web_port: int | None = None
    restart_seconds: float = 0.0
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
    restarting = time.monotonic()
    await asyncio.to_thread(cluster.restart)
    faults.restart_seconds = time.monotonic() - restarting
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
        picked = pick_orders(
            layout.sandbox_url,
            services,
            stores=STORES,
            per_store=SHOPPERS // len(STORES),
            lookups_each=2,  # a shopper whose page died starts again from the lookup
        )
        seen, faults = Seen(), Faults()
        live = [p.port for p in layout.web if p.port is not None]
        started = time.monotonic()

        async def everything() -> None:
            await file_at_once(
                picked,
                live=live,
                sandbox_url=layout.sandbox_url,
                seen=seen,
                spread=8.0,  # 100 shoppers over 8 s, through the faults
                alongside=[inflict(layout, cluster, live, faults, started)],
            )

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
                round(median(seen.latencies) * 1000),
                round(percentile(seen.latencies, 0.99) * 1000),
            ),
            "emails": len(mailbox),
            "emails that arrived twice (Message-ID: copies)": copies,
            "email jobs run more than once": rerun_emails,
            "jobs by status": job_states,
        }
        print("\n" + json.dumps(report, indent=2))

        # PostgreSQL's shutdown waits for every connection it accepted: a connection of ours
        # left half-made held it for its full authentication_timeout (60 s) once.
        assert faults.restart_seconds < 10, cluster.log()[-6000:]
        by_order = Counter(f"{slug}/{name}" for slug, name, _ in stored)
        assert [k for k, n in by_order.items() if n > 1] == [], "a request was stored twice"
        assert len(seen.accepted) == SHOPPERS, seen.failed
        assert {f"{slug}/{name}": ref for slug, name, ref in stored} == seen.accepted
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
