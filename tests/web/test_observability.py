"""What operators see: one log line per request with its id, a 500 logged once with its
traceback, a 503 page as one WARNING naming the service, the request id carried into the
jobs a request queues, and ``/metrics`` behind its token."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import logs
from portal.compliance.retention import RETENTION
from portal.db import sync_url
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import Job, JobStatus, Priority
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.portal import Portal, portal_settings, running_portal
from tests.helpers.servers import free_port
from tests.helpers.shopper_flow import ShopperFlow

TOKEN = "metrics-token-" + "t" * 20
HTTP_LOGGER = "portal.http"


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at INFO and above, uvicorn's own included (it does not propagate)."""
    caplog.set_level(logging.INFO)
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_logger.removeHandler(caplog.handler)


@pytest.fixture
def shopper(env: PortalEnvironment) -> Iterator[ShopperFlow]:
    flow = ShopperFlow(env)
    try:
        yield flow
    finally:
        flow.close()


def _wait_for(found: Callable[[], list[logging.LogRecord]], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not found() and time.monotonic() < deadline:
        time.sleep(0.05)


def _request_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "request_id", None) == request_id]


# --- the request id -------------------------------------------------------------------------


async def _boom(request: Request) -> Response:
    raise RuntimeError("the flux capacitor broke")


def test_a_500_is_logged_once_with_its_traceback_and_request_id(
    database_url: str, records: pytest.LogCaptureFixture
) -> None:
    settings = portal_settings(database_url)
    with running_portal(settings, extra_routes=[Route("/boom", _boom)]) as base_url:
        answer = httpx.get(f"{base_url}/boom", headers={"Accept": "text/html"})
    assert answer.status_code == 500
    assert "flux capacitor" not in answer.text
    request_id = answer.headers["x-request-id"]
    failures = [r for r in records.records if r.exc_info or r.levelno >= logging.ERROR]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    [failure] = failures
    assert failure.levelno == logging.ERROR
    assert failure.name == HTTP_LOGGER
    assert failure.request_id == request_id  # type: ignore[attr-defined]
    assert failure.route == "/boom"  # type: ignore[attr-defined]
    assert failure.status == 500  # type: ignore[attr-defined]
    assert failure.exc_info and "flux capacitor" in str(failure.exc_info[1])
    assert len(_request_lines(records, request_id)) == 1  # no access line besides


async def _fails_after_answering(request: Request) -> Response:
    async def afterwards() -> None:
        raise RuntimeError("the clean-up broke")

    return Response("fine", background=BackgroundTask(afterwards))


def test_a_failure_after_the_answer_is_logged_once_too(
    database_url: str, records: pytest.LogCaptureFixture
) -> None:
    route = Route("/later", _fails_after_answering)
    with running_portal(portal_settings(database_url), extra_routes=[route]) as base_url:
        answer = httpx.get(f"{base_url}/later")
        _wait_for(lambda: [r for r in records.records if r.exc_info])
    assert answer.status_code == 200
    failures = [r for r in records.records if r.exc_info or r.levelno >= logging.ERROR]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert failures[0].request_id == answer.headers["x-request-id"]  # type: ignore[attr-defined]
    assert "clean-up broke" in failures[0].getMessage()


def test_each_request_has_an_id_in_its_header_and_its_one_line(
    portal: Portal, records: pytest.LogCaptureFixture
) -> None:
    first = httpx.get(f"{portal.base_url}/")
    second = httpx.get(f"{portal.base_url}/")
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2
    for request_id in ids:
        _wait_for(lambda rid=request_id: _request_lines(records, rid))  # written once answered
        [line] = _request_lines(records, request_id)
        assert line.levelno == logging.INFO
        assert (line.method, line.route, line.status) == ("GET", "/", 200)  # type: ignore[attr-defined]
        assert line.duration_ms >= 0  # type: ignore[attr-defined]


def test_an_incoming_request_id_is_kept_only_from_a_trusted_proxy(database_url: str) -> None:
    given = {"X-Request-Id": "lb-1234-abcd"}
    with running_portal(portal_settings(database_url)) as base_url:
        untrusted = httpx.get(f"{base_url}/healthz", headers=given)
    assert untrusted.headers["x-request-id"] != "lb-1234-abcd"
    with running_portal(portal_settings(database_url, forwarded_allow_ips="127.0.0.1")) as url:
        trusted = httpx.get(f"{url}/healthz", headers=given)
        malformed = httpx.get(f"{url}/healthz", headers={"X-Request-Id": "a b\tc"})
    assert trusted.headers["x-request-id"] == "lb-1234-abcd"
    assert re.fullmatch(r"[0-9a-f]{32}", malformed.headers["x-request-id"])


# --- the shopper's requests, their jobs and an outside service down ---------------------------


def test_the_job_a_request_queued_logs_with_the_request_id(
    env: PortalEnvironment, shopper: ShopperFlow, records: pytest.LogCaptureFixture
) -> None:
    order = env.shop.order()
    page = shopper.look_up(order.name, "jane@example.com")
    assert page.status_code == 200, page.text
    [posted] = page.history  # the lookup's POST queued the email, then redirected
    request_id = posted.headers["x-request-id"]
    env.wait_for_email("jane@example.com", "code")

    def job_lines() -> list[logging.LogRecord]:
        lines = _request_lines(records, request_id)
        return [r for r in lines if getattr(r, "job_kind", None) == SEND_EMAIL]

    _wait_for(job_lines)
    [done] = job_lines()
    assert done.levelno == logging.INFO
    assert done.outcome == "done"  # type: ignore[attr-defined]
    assert done.job_id  # type: ignore[attr-defined]
    [access] = [r for r in _request_lines(records, request_id) if r.name == HTTP_LOGGER]
    assert (access.method, access.route, access.status) == ("POST", "/{store}/", 303)  # type: ignore[attr-defined]


@pytest.mark.settings(shopify_max_retries=0)
def test_a_503_page_logs_one_warning_naming_the_service(
    env: PortalEnvironment, shopper: ShopperFlow, records: pytest.LogCaptureFixture
) -> None:
    order = env.shop.order()
    env.shop.world.faults(SHOP).fail_next(status=503, times=100)
    try:
        page = shopper.look_up(order.name, "jane@example.com")
    finally:
        env.shop.world.faults(SHOP).clear()
    assert page.status_code == 503
    request_id = page.headers["x-request-id"]
    _wait_for(lambda: [r for r in _request_lines(records, request_id) if r.name == HTTP_LOGGER])
    lines = [r for r in records.records if r.levelno >= logging.WARNING and r.name == HTTP_LOGGER]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    [warning] = lines
    assert warning.levelno == logging.WARNING
    assert warning.request_id == request_id  # type: ignore[attr-defined]
    assert warning.service == "Shopify"  # type: ignore[attr-defined]
    assert warning.status == 503  # type: ignore[attr-defined]
    assert "Shopify" in warning.getMessage()
    # Besides it, the client's own line says which call gave up; nothing else is a warning.
    others = [r for r in records.records if r.levelno >= logging.WARNING and r is not warning]
    assert [r.name for r in others] == ["portal.integrations.shopify.client"]
    assert "giving up" in others[0].getMessage()
    assert others[0].request_id == request_id  # type: ignore[attr-defined]


# --- the logging setup ------------------------------------------------------------------------


@pytest.fixture
def configured_logging() -> Iterator[None]:
    """``portal serve``'s logging for one test, then the test run's own again."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    named = {n: logging.getLogger(n) for n in ("httpx", "httpcore", "uvicorn", "uvicorn.access")}
    saved_named = {n: (lg.handlers[:], lg.level, lg.propagate) for n, lg in named.items()}
    try:
        yield
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
        for name, (handlers, level, propagate) in saved_named.items():
            named[name].handlers[:] = handlers
            named[name].setLevel(level)
            named[name].propagate = propagate


def test_json_lines_carry_the_context_and_httpx_stays_quiet(
    portal: Portal, configured_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", "json")
    with httpx.Client(base_url=portal.base_url) as client:
        answer = client.get("/")
    assert answer.status_code == 200
    written = ""
    deadline = time.monotonic() + 10  # the request's line is written once it is answered
    while answer.headers["x-request-id"] not in written and time.monotonic() < deadline:
        time.sleep(0.05)
        written += capsys.readouterr().err
    lines = [json.loads(line) for line in written.splitlines() if line]
    assert not [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]
    [access] = [line for line in lines if line.get("request_id") == answer.headers["x-request-id"]]
    assert access["level"] == "INFO"
    assert access["logger"] == HTTP_LOGGER
    assert access["route"] == "/"
    assert access["status"] == 200
    assert {"time", "message", "duration_ms", "method"} <= set(access)


def test_text_lines_are_one_line_with_fields(
    configured_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", "text")
    with logs.bound(request_id="r-1"):
        logging.getLogger("portal.test").info("hello %s", "there", extra={"route": "/x y"})
    [line] = capsys.readouterr().err.splitlines()
    assert re.fullmatch(
        r"\S+ INFO +portal\.test: hello there  request_id=r-1 route=\"/x y\"", line
    ), line


# --- /metrics ---------------------------------------------------------------------------------


def test_metrics_are_not_found_without_a_token(portal: Portal) -> None:
    answer = httpx.get(f"{portal.base_url}/metrics", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 404


@pytest.mark.settings(metrics_token=TOKEN)
def test_metrics_want_the_token(env: PortalEnvironment) -> None:
    url = f"{env.base_url}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    assert httpx.get(url, headers={"Authorization": "Basic abc"}).status_code == 401


@pytest.mark.settings(metrics_token=TOKEN)
def test_metrics_count_requests_by_route_the_queue_and_job_outcomes(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    assert shopper.look_up(order.name, "jane@example.com").status_code == 200
    env.wait_for_email("jane@example.com", "code")
    httpx.get(f"{env.base_url}/no/such/page/at/all")

    def scrape() -> str:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.get(f"{env.base_url}/metrics", headers=auth)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return answer.text

    done = f'portal_job_outcomes_total{{kind="{SEND_EMAIL}",outcome="done"}}'
    deadline = time.monotonic() + 15
    while done not in (text := scrape()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert re.search(rf"^{re.escape(done)} [1-9]", text, re.M), text
    posted = 'portal_http_requests_total{method="POST",route="/{store}/",status="303"}'
    assert re.search(rf"^{re.escape(posted)} [1-9]", text, re.M), text  # counted per process
    assert 'route="<unmatched>",status="404"' in text
    assert "no/such" not in text  # raw paths never become labels
    assert (
        'portal_http_request_duration_seconds_bucket{le="0.01",method="POST",route="/{store}/"}'
        in text
    )
    assert re.search(rf'^portal_job_queue_depth{{kind="{SEND_EMAIL}"}} 0\.0$', text, re.M), text
    _queue_job_no_worker_takes(env.settings.database_url)
    text = scrape()
    assert 'portal_job_queue_depth{kind="test.nobody"} 1.0' in text, text
    age = re.search(
        r'^portal_job_queue_oldest_due_age_seconds\{kind="test.nobody"\} (\S+)$', text, re.M
    )
    assert age and float(age.group(1)) >= 60, text
    assert "portal_job_queue_oldest_due_age_seconds{kind=" in text
    assert "portal_shopify_throttle_waits_total" in text


def _queue_job_no_worker_takes(database_url: str) -> None:
    _queue_job(database_url, "test.nobody", {})


# --- portal worker -------------------------------------------------------------------------


@pytest.mark.e2e
def test_portal_worker_logs_json_with_the_request_id_and_serves_its_metrics(
    database_url: str, tmp_path: Path
) -> None:
    _queue_job(database_url, RETENTION, {"request_id": "req-from-the-web-1"})
    port = free_port()
    settings = portal_settings(database_url)
    environ = {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": str(settings.secret_key),
        "PORTAL_ENCRYPTION_KEYS": str(settings.encryption_keys),
        "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
        "PORTAL_LOG_FORMAT": "json",
        "PORTAL_METRICS_PORT": str(port),
        "PORTAL_METRICS_TOKEN": "worker-scrape-token-1234",
        "PORTAL_SMTP_PORT": "1",
    }
    stderr = tmp_path / "worker.err"
    with stderr.open("w") as err:
        worker = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "worker"], env=environ, stderr=err, cwd=tmp_path
        )
        try:
            done = f'portal_job_outcomes_total{{kind="{RETENTION}",outcome="done"}} 1.0'
            text = ""
            deadline = time.monotonic() + 30
            scrape = f"http://127.0.0.1:{port}/metrics"
            bearer = {"Authorization": "Bearer worker-scrape-token-1234"}
            while done not in text and time.monotonic() < deadline:
                time.sleep(0.2)
                with contextlib.suppress(httpx.TransportError):
                    text = httpx.get(scrape, headers=bearer).text
            refused = [
                httpx.get(scrape).status_code,
                httpx.get(scrape, headers={"Authorization": "Bearer another-token"}).status_code,
            ]
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=20)
    assert done in text, text
    assert refused == [401, 403]
    assert 'portal_job_queue_depth{kind="compliance.retention"} 0.0' in text
    lines = [json.loads(line) for line in stderr.read_text().splitlines()]
    job_lines = [line for line in lines if line.get("request_id") == "req-from-the-web-1"]
    assert {line["logger"] for line in job_lines} >= {"portal.jobs.worker"}
    [outcome] = [line for line in job_lines if line["logger"] == "portal.jobs.worker"]
    assert outcome["level"] == "INFO"
    assert outcome["job_kind"] == RETENTION
    assert outcome["outcome"] == "done"
    assert not [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]


def _queue_job(database_url: str, kind: str, payload: dict[str, Any]) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as db, db.begin():
            db.add(
                Job(
                    kind=kind,
                    payload=payload,
                    status=JobStatus.QUEUED,
                    priority=Priority.NORMAL,
                    attempts=0,
                    max_attempts=1,
                    run_after=datetime.now(UTC) - timedelta(minutes=2),
                )
            )
    finally:
        engine.dispose()


@pytest.mark.settings(metrics_token=TOKEN)
def test_invented_methods_do_not_become_labels(portal: Portal) -> None:
    # httptools refuses a method it does not know (400) before the app; one it knows and the
    # portal does not (WebDAV's PROPFIND) reaches the app and is counted as "other"
    httpx.request("BREW", f"{portal.base_url}/")
    httpx.request("PROPFIND", f"{portal.base_url}/")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    text = httpx.get(f"{portal.base_url}/metrics", headers=auth).text
    assert "BREW" not in text and "PROPFIND" not in text
    assert 'portal_http_requests_total{method="other",route="/",status="405"}' in text, text


async def _fine(request: Request) -> Response:
    return Response("fine")


def test_probes_and_quiet_prefixes_are_logged_at_debug(
    database_url: str, records: pytest.LogCaptureFixture
) -> None:
    records.set_level(logging.DEBUG, logger=HTTP_LOGGER)
    route = Route("/machine/call", _fine)
    settings = portal_settings(database_url)
    app_options = {"extra_routes": [route], "quiet_prefixes": ("/machine/",)}
    with running_portal(settings, **app_options) as base_url:
        answers = [httpx.get(f"{base_url}{path}") for path in ("/machine/call", "/healthz", "/")]
    levels = {}
    for answer in answers:
        [line] = _request_lines(records, answer.headers["x-request-id"])
        levels[line.route] = line.levelname  # type: ignore[attr-defined]
    assert levels == {"/machine/call": "DEBUG", "/healthz": "DEBUG", "/": "INFO"}
