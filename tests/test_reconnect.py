"""``ReconnectMiddleware``: a request that lost its database connection runs again, body and
all, on a fresh copy of its scope; anything else, or anything after the answer began, is not."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route, Router

from portal import reconnect
from portal.db import lost_connection
from portal.reconnect import ReconnectMiddleware


def connection_lost() -> OperationalError:
    orig = psycopg.OperationalError("consuming input failed: server closed the connection")
    return OperationalError("SELECT 1", {}, orig)


def statement_refused() -> ProgrammingError:
    return ProgrammingError("SELEC 1", {}, psycopg.errors.SyntaxError("syntax error"))


class Flaky:
    """Fails its first ``failures`` calls with ``error``, then echoes the posted body."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def endpoint(self, request: Request) -> PlainTextResponse:
        self.calls += 1
        body = await request.body()
        if self.calls <= self.failures:
            raise self.error
        return PlainTextResponse(f"{request.url.path} {body.decode()}")


def client_for(endpoint: Any) -> httpx.AsyncClient:
    # Mounted, as the store pages are: routing rewrites the scope on the way in.
    # Inside the error pages, as in the portal: a 500 page is drawn after it has given up.
    route = Route("/request", endpoint, methods=["POST"])
    app = ReconnectMiddleware(Router(routes=[Mount("/{store}", routes=[route])]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reconnect, "FIRST_WAIT", 0.01)


@pytest.mark.anyio
async def test_a_lost_connection_runs_the_request_again_with_its_body() -> None:
    flaky = Flaky(2, connection_lost())
    async with client_for(flaky.endpoint) as client:
        answer = await client.post("/maple/request", content=b"qty=2")
    assert answer.status_code == 200
    assert answer.text == "/maple/request qty=2"
    assert flaky.calls == 3


@pytest.mark.anyio
async def test_a_refused_statement_is_not_run_again() -> None:
    flaky = Flaky(1, statement_refused())
    async with client_for(flaky.endpoint) as client:
        with pytest.raises(ProgrammingError):
            await client.post("/maple/request", content=b"qty=2")
    assert flaky.calls == 1


@pytest.mark.anyio
async def test_a_database_that_stays_away_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reconnect, "RETRY_SECONDS", 0.05)
    flaky = Flaky(1000, connection_lost())
    async with client_for(flaky.endpoint) as client:
        with pytest.raises(OperationalError):
            await client.post("/maple/request", content=b"qty=2")
    assert 1 < flaky.calls < 10


@pytest.mark.anyio
async def test_nothing_runs_again_once_the_answer_has_begun() -> None:
    calls = 0

    async def streaming(request: Request) -> StreamingResponse:
        async def rows() -> Any:
            nonlocal calls
            calls += 1
            yield b"first row\n"
            raise connection_lost()

        return StreamingResponse(rows())

    async with client_for(streaming) as client:
        with pytest.raises(OperationalError):
            await client.post("/maple/request", content=b"")
    assert calls == 1


def test_what_counts_as_a_lost_connection() -> None:
    assert lost_connection(connection_lost())
    shutdown = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    assert lost_connection(OperationalError("SELECT 1", {}, shutdown))
    assert not lost_connection(statement_refused())
    locked = psycopg.errors.LockNotAvailable("could not obtain lock")
    assert not lost_connection(OperationalError("SELECT 1", {}, locked))
    assert not lost_connection(OperationalError("SELECT 1", {}, sqlite3.OperationalError("locked")))
    assert not lost_connection(ValueError("nothing to do with a database"))
