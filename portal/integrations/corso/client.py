"""Corso's claims API: the return, exchange and warranty claims a customer already filed.

``CorsoClient`` reads List claims (https://dev.corso.com/commerce-api/oas/list-claims, in the
developer documentation linked from https://docs.corso.com) with one store's OAuth client
credentials: the API answers "for the authenticated store", so no request names a store unless
``store_query`` says how (for an API that turns out to need it). It caches the token until shortly
before expiry, pages through claims, keeps within the rate limit (``RateLimit-*``, ``Retry-After``)
and retries with ``portal.backoff.HTTP_RETRY``. Failures are ``portal.errors``: 400 ->
``CorsoBadRequest``, 401 after a fresh token or refused credentials -> ``CorsoAuthError``, 403 ->
``CorsoForbidden``, 5xx / 429 / timeouts beyond the retry budget -> ``CorsoUnavailable``, an answer
that is not a page of claims -> ``CorsoResponseError``; one claim it cannot read is an
``UnreadableClaim``, not a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx

from portal import metrics
from portal.backoff import HTTP_RETRY, retry_after
from portal.errors import (
    CorsoAuthError,
    CorsoBadRequest,
    CorsoError,
    CorsoForbidden,
    CorsoResponseError,
    CorsoUnavailable,
)
from portal.integrations.corso import models

MAX_PAGE_SIZE = 100

_REFUSALS: dict[int, tuple[type[CorsoError], str]] = {
    400: (CorsoBadRequest, "Corso refused the query"),
    403: (CorsoForbidden, "Corso refused access to the store"),
}

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
Outcome = httpx.Response | httpx.TransportError


class CorsoClient:
    """Reads one set of credentials' claims with a cached token, within Corso's rate limit."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        auth_url: str,
        client_id: str,
        client_secret: str,
        audience: str,
        store_query: Mapping[str, str] | None = None,
        max_retries: int = 4,
        max_wait: float = 30.0,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._timeout = timeout  # per request; None keeps the shared client's own
        self._claims_url = api_url.rstrip("/") + "/claims"
        self._auth_url = auth_url
        self._credentials = {
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
            "grant_type": "client_credentials",
        }
        self._store_query = dict(store_query or {})
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._token: str | None = None
        self._refresh_at = 0.0  # on the client's clock
        self._token_lock = asyncio.Lock()
        self._paused_until = 0.0
        self._jitter = random.Random()

    async def list_claims(
        self,
        *,
        customer_email: str | None = None,
        external_id: str | None = None,
        page_size: int = 50,
        after: str | None = None,
        before: str | None = None,
        order: str = "desc",
    ) -> models.ClaimPage:
        """One page of claims: forward from ``after``, or the page before ``before``."""
        return await self._page(
            _claims_query(customer_email, external_id, page_size, after, before, order)
        )

    async def iter_claims(
        self,
        *,
        customer_email: str | None = None,
        external_id: str | None = None,
        page_size: int = 50,
        order: str = "desc",
    ) -> AsyncIterator[models.Claim | models.UnreadableClaim]:
        """Every matching claim, page after page, each once (a page's unreadable ones last)."""
        query = _claims_query(customer_email, external_id, page_size, None, None, order)
        while True:
            page = await self._page(query)
            for claim in page.claims:
                yield claim
            for unreadable in page.unreadable:
                yield unreadable
            if not page.page_info.has_next_page:
                return
            query = query | {"after": _next_cursor(page.page_info.end_cursor, query.get("after"))}

    # --- requests

    async def _page(self, query: dict[str, str]) -> models.ClaimPage:
        with _counted():
            response = await self._get_authorized(self._store_query | query)
            _raise_for_refusal(response)
            page = models.decode_page(response.content)
        for claim in page.unreadable:
            log.warning("Corso claim %s set aside: %s", claim.label, claim.problem)
        return page

    # --- requests

    async def _get_authorized(self, query: dict[str, str]) -> httpx.Response:
        token = await self._access_token()
        response = await self._get(query, token)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            self._forget_token(token)
            response = await self._get(query, await self._access_token())
            if response.status_code == httpx.codes.UNAUTHORIZED:
                raise CorsoAuthError("Corso refused a freshly issued access token")
        return response

    async def _get(self, query: dict[str, str], token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return await self._send("GET", self._claims_url, params=query, headers=headers)

    async def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        """One request, retried on 429, 5xx and transport failures within the retry budget."""
        for attempt in range(self._max_retries + 1):
            await self._wait_out_rate_limit()
            outcome = await self._attempt(method, url, options)
            if isinstance(outcome, httpx.Response) and not _is_transient(outcome.status_code):
                return outcome
            if attempt < self._max_retries:
                log.debug("Corso %s %s: %s; retrying", method, url, _describe(outcome))
                await self._pause_before_retry(attempt, outcome)
        log.warning("Corso %s %s: giving up after %d attempts", method, url, attempt + 1)
        raise CorsoUnavailable(
            f"Corso did not answer after {attempt + 1} attempts ({_describe(outcome)})"
        )

    async def _attempt(self, method: str, url: str, options: dict[str, Any]) -> Outcome:
        if self._timeout is not None:
            options = {"timeout": self._timeout, **options}
        try:
            response = await self._http.request(method, url, **options)
        except httpx.TransportError as exc:
            return exc
        remaining = response.headers.get("RateLimit-Remaining", "").strip()
        reset = retry_after(response.headers.get("RateLimit-Reset"))
        if remaining == "0" and reset is not None:
            self._pause_for(reset)
        return response

    async def _pause_before_retry(self, attempt: int, outcome: Outcome) -> None:
        delay = min(self._max_wait, HTTP_RETRY.delay(attempt, rng=self._jitter.random))
        if isinstance(outcome, httpx.Response) and outcome.status_code == 429:
            asked = retry_after(outcome.headers.get("Retry-After"))
            self._pause_for(delay if asked is None else asked)
        else:
            await self._sleep_within_budget(delay)

    # --- rate limit

    def _pause_for(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _wait_out_rate_limit(self) -> None:
        wait = self._paused_until - self._clock()
        if wait > 0:
            await self._sleep_within_budget(wait)

    async def _sleep_within_budget(self, seconds: float) -> None:
        if seconds > self._max_wait:
            raise CorsoUnavailable(
                f"Corso asks for a {seconds:.0f} s wait, longer than {self._max_wait:.0f} s"
            )
        await self._sleep(seconds)

    # --- token

    async def authenticate(self) -> None:
        """Obtain a token with the credentials (``CorsoAuthError`` when they are refused)."""
        with _counted():
            await self._access_token()

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token = await self._request_token()
            return self._token

    def _forget_token(self, value: str) -> None:
        if self._token == value:
            self._token = None

    async def _request_token(self) -> str:
        response = await self._send("POST", self._auth_url, json=self._credentials)
        if response.status_code in (400, 401, 403):
            raise CorsoAuthError(f"Corso refused the client credentials: {_reason(response)}")
        if response.is_error:
            raise CorsoResponseError(f"Corso's token endpoint answered {response.status_code}")
        token = models.decode(models.AccessToken, response.content, "token answer")
        self._refresh_at = self._clock() + token.expires_in - min(60.0, token.expires_in / 10)
        return token.access_token


@contextlib.contextmanager
def _counted() -> Iterator[None]:
    """Count each Corso failure raised to the portal by its kind."""
    try:
        yield
    except CorsoError as exc:
        metrics.CORSO_ERRORS.labels(kind=type(exc).__name__).inc()
        raise


def _claims_query(
    customer_email: str | None,
    external_id: str | None,
    page_size: int,
    after: str | None,
    before: str | None,
    order: str,
) -> dict[str, str]:
    if after is not None and before is not None:
        raise ValueError("page forward (after) or backward (before), not both")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be from 1 to {MAX_PAGE_SIZE}")
    if order not in ("asc", "desc"):
        raise ValueError("order must be 'asc' or 'desc'")
    query = {
        "orderBy": order,
        "customerEmail": customer_email,
        "externalId": external_id,
        "first" if before is None else "last": str(page_size),
        "after": after,
        "before": before,
    }
    return {name: value for name, value in query.items() if value is not None}


def _next_cursor(cursor: str | None, previous: str | None) -> str:
    if cursor is None or cursor == previous:
        raise CorsoResponseError("Corso says more claims follow but gave no new cursor")
    return cursor


def _is_transient(status: int) -> bool:
    return status == httpx.codes.TOO_MANY_REQUESTS or status >= 500


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, httpx.Response):
        return f"HTTP {outcome.status_code}"
    return f"{type(outcome).__name__}: {outcome}"


def _raise_for_refusal(response: httpx.Response) -> None:
    status = response.status_code
    if status != httpx.codes.OK:
        error, what = _REFUSALS.get(status, (CorsoResponseError, f"Corso answered {status}"))
        raise error(f"{what}: {_reason(response)}")


def _reason(response: httpx.Response) -> str:
    """The message of an error body, whichever of the usual keys it uses."""
    with contextlib.suppress(ValueError):
        body = response.json()
        for key in ("message", "error_description", "error"):
            if isinstance(body, dict) and isinstance(body.get(key), str):
                return str(body[key])
    return response.text[:200] or response.reason_phrase
