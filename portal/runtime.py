"""What a running portal process holds: database, shared HTTP client, signer, mailer and the
outside-service clients. The web app's lifespan and ``portal worker`` both open one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from portal.db import create_engine, session_factory
from portal.integrations.corso import CorsoClient
from portal.integrations.shopify import ShopifyClient
from portal.mail import Mailer
from portal.models import import_all_models
from portal.settings import Settings
from portal.signing import Signer
from portal.stores.models import Store

SHUTDOWN_GRACE_SECONDS = 5.0
PHOTO_DECODERS = 2


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    signer: Signer
    mailer: Mailer
    corso: CorsoClient
    photo_decoding: anyio.CapacityLimiter  # decoded photos are large: a few at a time

    def status_link(self, store: Store, request_id: int) -> str:
        """The shopper's signed link to a request's status page, for emails."""
        from portal.shopper.links import status_link

        return status_link(
            self.signer,
            base_url=self.settings.base_url,
            store_slug=store.slug,
            request_id=request_id,
        )

    def shopify(self, store: Store) -> ShopifyClient:
        """A client for one store's shop; cheap, built on the shared HTTP client."""
        return ShopifyClient(
            self.http,
            shop_domain=store.shop_domain,
            access_token=store.access_token,
            api_version=store.api_version,
            endpoint=self.settings.shopify_endpoint,
            max_retries=self.settings.shopify_max_retries,
            max_wait=self.settings.shopify_max_wait,
        )


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    import_all_models()  # every table known, whichever module this process started from
    engine = create_engine(settings.database_url)
    timeout = httpx.Timeout(settings.shopify_timeout)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    try:
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
            yield Runtime(
                settings=settings,
                engine=engine,
                sessions=session_factory(engine),
                http=http,
                signer=Signer(str(settings.secret_key)),
                mailer=Mailer(settings),
                corso=_corso_client(settings, http),
                photo_decoding=anyio.CapacityLimiter(PHOTO_DECODERS),
            )
    finally:
        await engine.dispose()


def _corso_client(settings: Settings, http: httpx.AsyncClient) -> CorsoClient:
    return CorsoClient(
        http,
        api_url=settings.corso_api_url,
        auth_url=settings.corso_auth_url,
        client_id=settings.corso_client_id,
        client_secret=str(settings.corso_client_secret),
        audience=settings.corso_audience,
        max_retries=settings.corso_max_retries,
        timeout=settings.corso_timeout,
    )


async def run_workers(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run ``PORTAL_WORKER_CONCURRENCY`` job workers until ``stop`` is set. The first only takes
    urgent and high-priority jobs, so a month's order sync never holds up an emailed code or an
    agent's refund. Leases keep the workers from sharing a job."""
    from portal.jobs.handlers import job_handlers, schedule_recurring
    from portal.jobs.models import Priority
    from portal.jobs.worker import Worker, new_worker_id

    await schedule_recurring(runtime.sessions)
    handlers = job_handlers()
    concurrency = max(1, runtime.settings.worker_concurrency)
    workers = [
        Worker(
            runtime.sessions,
            handlers,
            services=runtime,
            worker_id=new_worker_id(),
            max_priority=Priority.HIGH if n == 0 and concurrency > 1 else None,
            poll_interval=0.2 if n == 0 else 1.0,
        )
        for n in range(concurrency)
    ]
    await asyncio.gather(*(worker.run(stop) for worker in workers))


@asynccontextmanager
async def worker_running(runtime: Runtime) -> AsyncIterator[None]:
    """Run the job workers beside the web app for as long as the block lasts."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(runtime, stop))
    try:
        yield
    finally:
        stop.set()
        # A job still running after a short grace is cancelled: its lease runs out and
        # another worker takes it up, so nothing is lost or done twice.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=SHUTDOWN_GRACE_SECONDS)
