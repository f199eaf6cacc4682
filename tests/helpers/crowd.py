"""Many shoppers filing at once against the production layout (``tests/helpers/layout.py``),
each over real HTTP as a browser without JavaScript: look the order up, read the code from the
sandbox's mailbox, pick an item, review, submit.

A shopper behaves as people and browsers do: a web process that vanished sends them to another
(as a load balancer would), a waiting page is waited on for the seconds it names, and its
Continue link or button is pressed then. What they saw is gathered in ``Seen``.
"""

from __future__ import annotations

import asyncio
import html
import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import ExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from portal.shopper.verification import MAX_LOOKUPS_PER_EMAIL
from tests.helpers.layout import deployed
from tests.helpers.shopper_flow import (
    CSRF,
    DELIVERY_ADDRESS,
    HIDDEN_VERIFICATION,
    QUANTITY,
    REPORTABLE,
)

SUBMIT = re.compile(r'action="([^"]*/review/[^"]+)"')
REFERENCE = re.compile(r"RR-[2-9A-HJ-NP-Z]{6}")
CONTINUE_LINK = re.compile(
    r'<a class="button" id="continue" href="([^"]*)" data-continue-after="(\d+)">'
)
CONTINUE = re.compile(
    r'<form id="continue" method="post" action="([^"]*)" data-continue-after="(\d+)">(.*?)</form>',
    re.S,
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
MAX_WAITS = 60  # waiting pages one step follows before the shopper gives up
STORES = ("maple-and-moss", "harbor-outfitters")  # the demo's two stores


@dataclass
class Seen:
    """What the shoppers saw."""

    answers: Counter[tuple[int, int]] = field(default_factory=Counter)  # (port, status): n
    vanished: Counter[int] = field(default_factory=Counter)  # port: connections lost
    server_errors: list[tuple[int, int, str]] = field(default_factory=list)  # port, status, path
    error_pages: list[tuple[int, str, str]] = field(default_factory=list)  # status, path, title
    accepted: dict[str, str] = field(default_factory=dict)  # order key: reference
    failed: dict[str, str] = field(default_factory=dict)  # order key: why
    latencies: list[float] = field(default_factory=list)  # seconds per answer
    steps: dict[str, list[float]] = field(default_factory=dict)  # method and page: seconds
    waiting_pages: int = 0  # "the store is busy" pages shoppers waited on
    started_again: list[str] = field(default_factory=list)  # shoppers who began again


def is_waiting(page: httpx.Response) -> bool:
    """A page that goes on by itself: the store's points are spoken for (200) or every
    database connection is busy (503), both with Retry-After."""
    return (
        page.status_code in (200, 503)
        and "Retry-After" in page.headers
        and (CONTINUE.search(page.text) is not None or CONTINUE_LINK.search(page.text) is not None)
    )


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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)] if ordered else 0.0


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
        """One step, as a browser takes it: redirects followed, a waiting page waited on."""
        response = await self._follow(method, path, **kwargs)
        for _ in range(MAX_WAITS):
            waited = await self._after_waiting(response)
            if waited is None:
                return response
            response = waited
        raise Abandoned(f"{path}: still waiting after {MAX_WAITS} waiting pages")

    async def _after_waiting(self, page: httpx.Response) -> httpx.Response | None:
        """The page a waiting page leads to once its seconds are up; None for other pages."""
        if not is_waiting(page):
            return None
        form = CONTINUE.search(page.text)
        if form is not None:  # a form to send again: its Continue button
            self.seen.waiting_pages += 1
            await asyncio.sleep(int(form.group(2)))
            fields = [
                (html.unescape(k), html.unescape(v)) for k, v in HIDDEN.findall(form.group(3))
            ]
            return await self._follow("POST", html.unescape(form.group(1)), data=dict(fields))
        link = CONTINUE_LINK.search(page.text)
        if link is None:
            return None
        self.seen.waiting_pages += 1
        await asyncio.sleep(int(link.group(2)))
        return await self._follow("GET", html.unescape(link.group(1)) or str(page.url))

    async def _follow(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a web process that vanished sends the shopper to another, once each."""
        for _ in range(len(self.live) + 2):
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
            except httpx.TimeoutException as exc:  # a page that never came: people leave
                self.seen.latencies.append(time.monotonic() - started)
                self.seen.error_pages.append((0, path, "no answer within 60 s"))
                raise Abandoned(f"{path}: no answer within 60 s") from exc
            self._note(response, path, time.monotonic() - started)
            if response.status_code in (307, 308):
                return await self._follow(method, response.headers["location"], **kwargs)
            if response.is_redirect:
                return await self._follow("GET", response.headers["location"])
            return response
        raise AssertionError(f"{self.key}: no web process answered {path}")

    def _note(self, response: httpx.Response, path: str, seconds: float) -> None:
        self.seen.latencies.append(seconds)
        step = f"{response.request.method} {_page_of(response.request.url.path)}"
        self.seen.steps.setdefault(step, []).append(seconds)
        self.seen.answers[(self.port, response.status_code)] += 1
        if is_waiting(response):  # "one moment" (a 503 when the database is busy): not an error
            return
        if response.status_code >= 500:
            self.seen.server_errors.append((self.port, response.status_code, path))
        if response.status_code >= 400:
            self.seen.error_pages.append((response.status_code, path, title(response)))

    async def post(self, path: str, page: httpx.Response, data: dict[str, Any]) -> httpx.Response:
        token = CSRF.search(page.text)
        if token is None:
            raise Abandoned(f"{page.url.path} answered {page.status_code}: {title(page)}")
        return await self.send(
            "POST", path, data={"csrf_token": html.unescape(token.group(1)), **data}
        )

    async def verify(self, mail: Mail) -> httpx.Response | None:
        """Look the order up and enter the code from the mail: the request form, or None (why
        is in ``seen.failed``)."""
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
            return None
        code = await mail.code(
            self.order["email"], self.store["name"], self.order["number"], before
        )
        form = await self.post(
            f"/{slug}/verify", code_page, {"verification": hidden.group(1), "code": code}
        )
        if not QUANTITY.search(form.text):
            self.seen.failed[self.key] = f"request form answered {form.status_code}: {title(form)}"
            return None
        return form

    async def review(
        self, form: httpx.Response, quantity: str, *, issue: str = "", resolution: str = "reorder"
    ) -> httpx.Response | None:
        """One item of the request form (its ``qty_`` field) sent: the review page with its
        Submit button, or None. The reason is what the order's parcel may be reported as
        unless ``issue`` says otherwise."""
        review = await self.post(
            f"/{self.store['slug']}/request",
            form,
            {
                "issue_type": issue or REPORTABLE[self.order["parcel"]],
                "resolution": resolution,
                "description": "The parcel never came.",
                **DELIVERY_ADDRESS,
                quantity: "1",
            },
        )
        if SUBMIT.search(review.text) is None:
            self.seen.failed[self.key] = f"review answered {review.status_code}: {title(review)}"
            return None
        return review

    async def file(self, mail: Mail) -> httpx.Response | None:
        """Verify, send the form's first item, submit: the status page once the request is
        received (its reference in ``seen.accepted``), or None."""
        form = await self.verify(mail)
        if form is None:
            return None
        review = await self.review(form, QUANTITY.findall(form.text)[0])
        if review is None:
            return None
        status = await self.post(submit_action(review), review, {})
        reference = REFERENCE.search(status.text)
        if status.status_code == 200 and reference and "Request received" in status.text:
            self.seen.accepted[self.key] = reference.group(0)
            return status
        self.seen.failed[self.key] = f"submit answered {status.status_code}: {title(status)}"
        return None

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


def submit_action(review: httpx.Response) -> str:
    """Where a review page's Submit button sends the request."""
    action = SUBMIT.search(review.text)
    assert action is not None, "the review page has no Submit button"
    return html.unescape(action.group(1))


def _page_of(path: str) -> str:
    """A step's page without the store and ids: /<store>/review/<draft> is review."""
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else "lookup"


@dataclass(frozen=True)
class Case:
    """How many shoppers file at once, over how many stores, on how many processes."""

    shoppers: int
    stores: int
    web_processes: int
    workers: int


CASES = {
    "one-store": Case(shoppers=20, stores=1, web_processes=1, workers=1),
    "crowd": Case(shoppers=200, stores=2, web_processes=4, workers=2),
}


@dataclass(frozen=True)
class Result:
    shoppers: int
    filed: int
    error_pages: int
    waiting_pages: int
    shopify_queries: int
    throttled: int
    step_p50: float
    step_p99: float
    wall: float
    failed: dict[str, str]
    errors: list[tuple[int, str, str]]
    steps: dict[str, list[float]]
    failures: list[str]
    operations: dict[str, Calls]
    """Shopify's queries by operation."""

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.shopify_queries if self.shopify_queries else 0.0

    def report(self) -> dict[str, Any]:
        return {
            "shoppers": self.shoppers,
            "filed": self.filed,
            "error pages": self.error_pages,
            "waiting pages": self.waiting_pages,
            "Shopify queries": self.shopify_queries,
            "THROTTLED": self.throttled,
            "THROTTLED share %": round(100 * self.throttled_share, 1),
            "step p50 ms": round(self.step_p50 * 1000),
            "step p99 ms": round(self.step_p99 * 1000),
            "wall s": round(self.wall, 1),
        }


def run_case(
    case: Case, *, directory: Path, database_url: str, settings: Sequence[str] = ()
) -> Result:
    """One run of ``case``: the production layout on ``database_url`` (empty), its shoppers
    sent all at once against the sandbox's standard-plan bucket."""
    with ExitStack() as stack:
        layout = stack.enter_context(
            deployed(
                directory,
                database_url=database_url,
                web_processes=case.web_processes,
                workers=case.workers,
                plan="standard",
                settings=settings,
            )
        )
        stores = STORES[: case.stores]
        picked = pick_orders(
            layout.sandbox_url,
            layout.services(),
            stores=stores,
            per_store=case.shoppers // case.stores,
        )
        before = shopify_calls(layout.sandbox_url)
        live = [p.port for p in layout.web if p.port is not None]
        seen = Seen()
        started = time.monotonic()
        asyncio.run(file_at_once(picked, live=live, sandbox_url=layout.sandbox_url, seen=seen))
        wall = time.monotonic() - started
        after = shopify_calls(layout.sandbox_url)
        failures = _failures_logged(layout.log(p.name) for p in layout.web)
    admitted = sum(after[s]["admitted"] - before[s]["admitted"] for s in after)
    throttled = sum(after[s]["throttled"] - before[s]["throttled"] for s in after)
    return Result(
        shoppers=len(picked),
        filed=len(seen.accepted),
        error_pages=len(seen.error_pages),
        waiting_pages=seen.waiting_pages,
        shopify_queries=admitted + throttled,
        throttled=throttled,
        step_p50=statistics.median(seen.latencies) if seen.latencies else 0.0,
        step_p99=percentile(seen.latencies, 0.99),
        wall=wall,
        failed=dict(seen.failed),
        errors=seen.error_pages[:10],
        steps=seen.steps,
        failures=failures,
        operations=calls_between(before, after),
    )


def _failures_logged(logs: Iterable[str]) -> list[str]:
    """The distinct exception lines the web processes logged, most frequent first."""
    found: Counter[str] = Counter()
    for log in logs:
        found.update(
            line.strip()[:200]
            for line in log.splitlines()
            if re.match(r"^[\w.]+(Error|Exception|Timeout)\b", line.strip())
        )
    return [f"{n} x {line}" for line, n in found.most_common(5)]


def pick_orders(
    sandbox_url: str,
    services: dict[str, Any],
    *,
    stores: tuple[str, ...],
    per_store: int,
    lookups_each: int = 1,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``per_store`` fileable orders (protected, fulfilled, not cancelled, with an email) of
    each store, with the store's services entry; no email more often than the portal lets one
    email look orders up in an hour, when each shopper looks up ``lookups_each`` times (a
    shopper who starts again looks the order up again)."""
    most = MAX_LOOKUPS_PER_EMAIL // lookups_each
    orders = httpx.get(f"{sandbox_url}/orders.json").json()["orders"]
    known = {s["slug"]: s for s in services["stores"]}
    per_email: Counter[str] = Counter()
    usable = []
    for o in orders:
        if o["protected"] and o["parcel"] in REPORTABLE and not o["cancelled"] and o["email"]:
            per_email[o["email"].casefold()] += 1
            if per_email[o["email"].casefold()] <= most:
                usable.append(o)
    picked = []
    for slug in stores:
        mine = [o for o in usable if o["store"] == slug][:per_store]
        assert len(mine) == per_store, f"{slug} has only {len(mine)} orders to file"
        picked += [(o, known[slug]) for o in mine]
    return picked


async def file_at_once(
    picked: list[tuple[dict[str, Any], dict[str, Any]]],
    *,
    live: list[int],
    sandbox_url: str,
    seen: Seen,
    spread: float = 0.0,
    alongside: list[Any] | None = None,
) -> None:
    """Every picked order filed by its own shopper, arriving over ``spread`` seconds, while the
    awaitables in ``alongside`` (faults, say) run too."""
    async with reading_mail(sandbox_url) as mail:
        shoppers = [Shopper(n, order, store, live, seen) for n, (order, store) in enumerate(picked)]
        gap = spread / max(1, len(shoppers))

        async def arrive(n: int, shopper: Shopper) -> None:
            await asyncio.sleep(n * gap)
            await shopper.run(mail)

        await asyncio.gather(*(alongside or []), *(arrive(n, s) for n, s in enumerate(shoppers)))


@asynccontextmanager
async def reading_mail(sandbox_url: str) -> AsyncIterator[Mail]:
    """The sandbox's mailbox, read in the background while the block runs."""
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=30) as client:
        mail = Mail(client, f"{sandbox_url}/mailbox.json")
        poller = asyncio.create_task(mail.poll(stop))
        try:
            yield mail
        finally:
            stop.set()
            await poller


@dataclass(frozen=True)
class Calls:
    """One operation's queries between two reads of ``shopify_calls``, over every shop."""

    admitted: int
    throttled: int
    points: float  # the admitted queries' actual cost


def calls_between(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> dict[str, Calls]:
    """What Shopify answered between ``before`` and ``after`` (``shopify_calls``), by
    operation."""
    admitted: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    points: dict[str, float] = {}
    for shop, counts in after.items():
        admitted.update(counts["operations"])
        admitted.subtract(before[shop]["operations"])
        refused.update(counts["throttled operations"])
        refused.subtract(before[shop]["throttled operations"])
        for name, spent in counts["points"].items():
            points[name] = points.get(name, 0.0) + spent - before[shop]["points"].get(name, 0.0)
    return {
        name: Calls(admitted[name], refused[name], points.get(name, 0.0))
        for name in sorted(set(admitted) | set(refused))
        if admitted[name] or refused[name]
    }


def shopify_calls(sandbox_url: str) -> dict[str, dict[str, Any]]:
    """Per shop, the queries the sandbox's bucket admitted (and by operation) and answered
    THROTTLED."""
    found: dict[str, dict[str, Any]] = httpx.get(f"{sandbox_url}/calls.json").json()["shops"]
    return found
