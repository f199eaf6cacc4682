"""The sandbox Corso over HTTP.

    POST /oauth/token   client credentials -> a signed, expiring bearer token
    GET  /v1/claims     List claims of the client's store, with its rate limit and planned faults

Every claims answer carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``;
a spent window answers 429 with ``Retry-After``. Errors are JSON: ``{"error", "message"}`` on the
API and OAuth's ``{"error", "error_description"}`` on the token endpoint.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.corso.listing import BadQuery, claims_page, parse_claims_query
from sandbox.corso.world import (
    ApiClient,
    CorsoWorld,
    Fault,
    Quota,
    RecordedRequest,
    TokenRefused,
)

MALFORMED_BODY = b'{"claims": [{"storeId": 1101, "claimId": '


def create_corso_sandbox(world: CorsoWorld) -> Starlette:
    corso = _SandboxCorso(world)
    return Starlette(
        routes=[
            Route("/oauth/token", corso.issue_token, methods=["POST"], name="corso_token"),
            Route("/v1/claims", corso.list_claims, methods=["GET"], name="corso_claims"),
        ]
    )


class _SandboxCorso:
    def __init__(self, world: CorsoWorld) -> None:
        self.world = world

    # --- POST /oauth/token

    async def issue_token(self, request: Request) -> Response:
        response, client_id = await self._token_answer(request)
        self.world.record(RecordedRequest("token", {}, response.status_code, client_id))
        return response

    async def _token_answer(self, request: Request) -> tuple[Response, str | None]:
        try:
            form = await _token_request(request)
        except ValueError:
            return _oauth_error(400, "invalid_request", "The body must be JSON or a form"), None
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Use client_credentials"), None
        client = self.world.client(form.get("client_id", ""))
        if client is None or not _same(client.client_secret, form.get("client_secret", "")):
            return _oauth_error(401, "access_denied", "Unauthorized"), None
        if form.get("audience") != self.world.audience:
            message = f"Service not found: {form.get('audience')}"
            return _oauth_error(403, "access_denied", message), client.client_id
        return _json(self._token_body(client)), client.client_id

    def _token_body(self, client: ApiClient) -> dict[str, Any]:
        return {
            "access_token": self.world.issue_token(client),
            "token_type": "Bearer",
            "expires_in": self.world.token_ttl,
        }

    # --- GET /v1/claims

    async def list_claims(self, request: Request) -> Response:
        if self.world.faults.latency > 0:
            await anyio.sleep(self.world.faults.latency)
        caller, refusal = self._caller(request)
        quota = self.world.take_quota(caller.client_id if caller else _anonymous(request))
        response = self._claims_answer(request, caller, refusal, quota)
        response.headers.update(quota.headers)
        client_id = caller.client_id if caller else None
        params = dict(request.query_params)
        self.world.record(RecordedRequest("claims", params, response.status_code, client_id))
        return response

    def _caller(self, request: Request) -> tuple[ApiClient | None, str]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "The request carries no bearer token"
        try:
            return self.world.client_for_token(token.strip()), ""
        except TokenRefused as refused:
            return None, str(refused)

    def _claims_answer(
        self, request: Request, caller: ApiClient | None, refusal: str, quota: Quota
    ) -> Response:
        if quota.exceeded:
            return _too_many_requests(quota)
        fault = self.world.faults.take()
        if fault is not None:
            return _planned_failure(fault)
        if caller is None:
            return _unauthorized(refusal)
        try:
            return self._claims_of(caller, request)
        except BadQuery as exc:
            return _error(400, "bad_request", str(exc))

    def _claims_of(self, caller: ApiClient, request: Request) -> Response:
        """The caller's store's claims: its credentials belong to that one store."""
        params = dict(request.query_params)
        named = params.pop(self.world.store_param, None) if self.world.store_param else None
        if named is not None and named != str(caller.store_id):
            return _error(403, "forbidden", f"This client may not read store {named}")
        page = claims_page(self.world.claims_of_store(caller.store_id), parse_claims_query(params))
        reshape = self.world.faults.reshape
        if reshape is not None:
            page["claims"] = [reshape(claim) for claim in page["claims"]]
        return _json(page)


async def _token_request(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        return {name: str(value) for name, value in form.items()}
    body = json.loads(await request.body())
    if not isinstance(body, dict):
        raise ValueError("the body is not an object")
    return {name: str(value) for name, value in body.items()}


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _anonymous(request: Request) -> str:
    return f"anonymous {request.client.host if request.client else 'caller'}"


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, separators=(",", ":"))
    return Response(content, status, headers, media_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": code, "message": message}, status)


def _oauth_error(status: int, code: str, description: str) -> Response:
    return _json({"error": code, "error_description": description}, status)


def _unauthorized(message: str) -> Response:
    challenge = f'Bearer error="invalid_token", error_description="{message}"'
    body = {"error": "unauthorized", "message": message}
    return _json(body, 401, {"WWW-Authenticate": challenge})


def _too_many_requests(quota: Quota) -> Response:
    message = f"Rate limit of {quota.limit} requests reached; retry in {quota.reset_after} s"
    return _json(
        {"error": "too_many_requests", "message": message},
        429,
        {"Retry-After": str(quota.reset_after)},
    )


def _planned_failure(fault: Fault) -> Response:
    if fault == "malformed":
        return Response(MALFORMED_BODY, 200, media_type="application/json")
    return _error(fault, "server_error", "The sandbox was told to fail this request")
