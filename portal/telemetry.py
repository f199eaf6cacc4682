"""What the portal tells its operators about each HTTP request, and ``/metrics``.

``RequestTelemetry`` wraps the whole application, outside Starlette's own error handling:

- a request id for every request: a valid ``X-Request-Id`` sent by a trusted proxy
  (``PORTAL_FORWARDED_ALLOW_IPS``), otherwise a new one; it is returned in the response's
  ``X-Request-Id``, bound to every log line written while the request runs, and carried into
  the jobs it queues (``portal.jobs.queue``);
- one log line per request when it is answered: route template, method, status and duration,
  at INFO (DEBUG for probes and scrapes); at WARNING naming the service when a page says an
  outside service is down (``note_unavailable``); at ERROR with the traceback, once, when
  the request failed (Starlette's handler answers the 500 page and raises the error again
  for the server to log: it stops here instead);
- the request counter and latency histogram by route template, never the raw path (paths
  carry tokens and references).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import logs, metrics

log = logging.getLogger("portal.http")

QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes: answered every few seconds, logged at DEBUG."""
UNMATCHED = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNAVAILABLE_KEY = "unavailable_service"


def note_unavailable(request: Request, service: str, error: BaseException) -> None:
    """A page is about to say an outside service is down: the request's line says which, at
    WARNING."""
    request.state.unavailable_service = (service, str(error).splitlines()[0] if str(error) else "")


class TrustedProxies:
    """The peers whose ``X-Request-Id`` is believed: ``PORTAL_FORWARDED_ALLOW_IPS``."""

    def __init__(self, proxies: Sequence[str]) -> None:
        self.everyone = "*" in proxies
        self.networks = [
            ipaddress.ip_network(p, strict=False) for p in proxies if p != "*" and _is_network(p)
        ]

    def __contains__(self, host: str | None) -> bool:
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


class RequestTelemetry:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        proxies: Sequence[str],
        quiet_prefixes: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.routes = routes
        self.proxies = TrustedProxies(proxies)
        self.quiet_prefixes = tuple(quiet_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        header = (logs.REQUEST_ID_HEADER.encode(), request_id.encode())
        status = 500
        started_response = finished = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), header]
            elif _last_body(message) and status < 500 and not finished:
                # Counted and logged before the client has the last byte; a 5xx only once the
                # app returned, as the error that caused it may follow.
                finished = True
                self._finish(scope, status, started)
            await send(message)

        with logs.bound(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # Starlette answered the 500 page (through send_with_id) and raised the error
                # again for the server to log: it is logged here instead, once.
                if not started_response:
                    await _plain_500(send_with_id)
                if finished:  # after its answer (a background task): the error alone
                    route = route_template(self.routes, scope)
                    log.error("%s failed after its answer: %r", route, exc, exc_info=exc)
                else:
                    self._finish(scope, status, started, error=exc)
                return
            if not finished:  # the app ended without completing a response
                self._finish(scope, status, started)

    def _request_id(self, scope: Scope) -> str:
        client = scope.get("client")
        if client and client[0] in self.proxies:
            for name, value in scope.get("headers", []):
                if name == logs.REQUEST_ID_HEADER.encode():
                    found = logs.valid_request_id(value.decode("latin-1"))
                    if found:
                        return found
        return logs.new_request_id()

    def _finish(
        self, scope: Scope, status: int, started: float, *, error: BaseException | None = None
    ) -> None:
        seconds = time.perf_counter() - started
        route = route_template(self.routes, scope)
        method = str(scope.get("method", ""))
        method = method if method in KNOWN_METHODS else "other"  # a client invents any token
        metrics.HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
        metrics.HTTP_SECONDS.labels(route=route, method=method).observe(seconds)
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        if error is not None:
            message = "%s %s failed: %s: %s"
            log.error(
                message, method, route, type(error).__name__, error, exc_info=error, extra=fields
            )
            return
        unavailable = scope.get("state", {}).get(UNAVAILABLE_KEY)
        if unavailable is not None:
            service, reason = unavailable
            fields["service"] = service
            log.warning(
                "%s %s %s: %s unavailable: %s", method, route, status, service, reason, extra=fields
            )
            return
        quiet = route in QUIET_ROUTES or route.startswith(self.quiet_prefixes)
        level = logging.DEBUG if quiet else logging.INFO
        log.log(level, "%s %s %s", method, route, status, extra=fields)


def _last_body(message: Message) -> bool:
    return message["type"] == "http.response.body" and not message.get("more_body")


async def _plain_500(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": b"Internal Server Error"})


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The template of the route that matched (``/{store}/requests/{reference}``), through
    every mount; ``<unmatched>`` for a path no route has, so scanners cannot grow the labels."""
    path = scope.get("path", "")
    return _template(routes, {**scope, "path": path, "root_path": ""}) or UNMATCHED


def _template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            if not route.routes:  # an app mounted whole (static files, the demo's sandbox)
                return route.path + "/{path}"
            found = _template(route.routes, {**scope, **child})
            return route.path + found if found else None
        if isinstance(route, Route):
            return route.path
        return getattr(route, "path", None)
    return None


def refused_scrape(token: str, authorization: str) -> tuple[int, str] | None:
    """Why a scrape with this ``Authorization`` header is refused, as (status, reason), or
    None when it may read the metrics: 404 with no token set, 401 without a bearer token, 403
    with another one."""
    if not token:
        return 404, "Not Found"
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return 401, "Unauthorized"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 403, "Forbidden"
    return None


async def metrics_endpoint(request: Request) -> Response:
    """``/metrics`` for Prometheus: 404 unless ``PORTAL_METRICS_TOKEN`` is set; then only with
    ``Authorization: Bearer <token>`` (401 without one, 403 with another)."""
    token = str(request.app.state.metrics_token or "")
    refused = refused_scrape(token, request.headers.get("authorization", ""))
    if refused is not None:
        status, reason = refused
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return PlainTextResponse(reason, status_code=status, headers=headers)
    body = await run_in_threadpool(generate_latest, metrics.REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def serve_worker_metrics(host: str, port: int, token: str) -> tuple[WSGIServer, threading.Thread]:
    """A worker's metrics on ``host:port`` in a thread, under the same rule as ``/metrics``
    when ``token`` is set (with none set, anyone who reaches the port reads them)."""
    exposition = make_wsgi_app(metrics.REGISTRY)

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        refused = refused_scrape(token, environ.get("HTTP_AUTHORIZATION", "")) if token else None
        if refused is not None:
            status, reason = refused
            headers = [("Content-Type", "text/plain")]
            if status == 401:
                headers.append(("WWW-Authenticate", "Bearer"))
            start_response(f"{status} {reason}", headers)
            return [reason.encode()]
        return exposition(environ, start_response)

    server = make_server(host, port, guarded, ThreadingWSGIServer, handler_class=_SilentHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return server, thread
