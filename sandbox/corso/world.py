"""What the sandbox Corso knows: API clients and the store each belongs to, claims, tokens,
rate-limit windows, planned failures, and a log of the requests it answered. Safe to change from a
test thread while the app serves."""

from __future__ import annotations

import copy
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sandbox.corso.listing import position
from sandbox.corso.tokens import read_token, sign_token

Claim = dict[str, Any]
Fault = int | Literal["malformed"]

DEFAULT_AUDIENCE = "api.corso.com"
_REQUIRED_KEYS = ("storeId", "claimId", "externalId", "customerEmail")
_REQUESTS_KEPT = 10_000  # the demo runs for days; tests need far fewer


class TokenRefused(Exception):
    """A bearer token the API answers with 401; the message says why."""


@dataclass(frozen=True)
class ApiClient:
    """An OAuth client registered with Corso; its credentials belong to one store."""

    client_id: str
    client_secret: str
    store_id: int


@dataclass(frozen=True)
class Quota:
    """One request's place in its client's rate-limit window."""

    limit: int
    remaining: int
    reset_after: int  # whole seconds until the window resets
    exceeded: bool

    @property
    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }


@dataclass(frozen=True)
class RecordedRequest:
    endpoint: str  # "token" or "claims"
    params: Mapping[str, str]
    status: int
    client_id: str | None = None


@dataclass
class _Window:
    ends_at: float
    used: int = 0


class Faults:
    """Failures tests switch on for the claims API.

    world.faults.latency = 0.5          # seconds added before every answer
    world.faults.fail_next(503, times=2)
    world.faults.malform_next()         # a 200 whose body is cut-off JSON
    world.faults.reshape = strip        # every claim answered as strip(claim) (fields left out)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency = 0.0
        self.reshape: Callable[[Claim], Claim] | None = None
        self._planned: deque[Fault] = deque()

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        with self._lock:
            self._planned.extend([status] * times)

    def malform_next(self, times: int = 1) -> None:
        with self._lock:
            self._planned.extend(["malformed"] * times)

    def take(self) -> Fault | None:
        with self._lock:
            return self._planned.popleft() if self._planned else None

    def clear(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.reshape = None
            self._planned.clear()


class CorsoWorld:
    """Corso as the sandbox serves it; tests change the clock, lifetimes, limits and faults.

    List claims answers with the authenticated client's store. Corso documents no parameter
    naming a store, so the sandbox refuses one, like any parameter it does not document, unless
    ``store_param`` names it (to try an API that turns out to take one): a client may then name
    its own store and is forbidden any other.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        token_ttl: int = 86_400,
        rate_limit: int = 120,
        rate_window: float = 60.0,
        audience: str = DEFAULT_AUDIENCE,
        store_param: str | None = None,
    ) -> None:
        self.clock = clock
        self.token_ttl = token_ttl
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.audience = audience
        self.store_param = store_param
        self.faults = Faults()
        self._lock = threading.Lock()
        self._clients: dict[str, ApiClient] = {}
        self._claims: dict[int, Claim] = {}
        self._windows: dict[str, _Window] = {}
        self._signing_key = secrets.token_bytes(32)
        self._requests: deque[RecordedRequest] = deque(maxlen=_REQUESTS_KEPT)

    # --- clients and claims

    def add_client(self, client_id: str, client_secret: str, store_id: int) -> ApiClient:
        client = ApiClient(client_id, client_secret, store_id)
        with self._lock:
            self._clients[client_id] = client
        return client

    def client(self, client_id: str) -> ApiClient | None:
        with self._lock:
            return self._clients.get(client_id)

    def add_claim(self, claim: Mapping[str, Any]) -> Claim:
        """Store a claim as the API returns it (camelCase JSON; Decimal money is accepted)."""
        stored: Claim = json.loads(json.dumps(claim, default=_json_value))
        missing = [key for key in _REQUIRED_KEYS if stored.get(key) is None]
        if missing:
            raise ValueError(f"claim lacks {', '.join(missing)}")
        position(stored)  # refuses a createdOn that is not an ISO date-time
        with self._lock:
            if stored["claimId"] in self._claims:
                raise ValueError(f"claim {stored['claimId']} already exists")
            self._claims[stored["claimId"]] = stored
        return copy.deepcopy(stored)

    def add_claims(self, claims: Iterable[Mapping[str, Any]]) -> None:
        for claim in claims:
            self.add_claim(claim)

    def claim(self, claim_id: int) -> Claim | None:
        with self._lock:
            found = self._claims.get(claim_id)
        return copy.deepcopy(found)

    def claims(self) -> list[Claim]:
        """Every claim, in the order they were added."""
        with self._lock:
            return copy.deepcopy(list(self._claims.values()))

    def claims_of_store(self, store_id: int) -> list[Claim]:
        with self._lock:
            found = [c for c in self._claims.values() if c["storeId"] == store_id]
        return copy.deepcopy(found)

    def claims_of_customer(self, store_id: int, email: str) -> list[Claim]:
        wanted = email.casefold()
        return [
            c for c in self.claims_of_store(store_id) if c["customerEmail"].casefold() == wanted
        ]

    # --- tokens

    def issue_token(self, client: ApiClient) -> str:
        now = self.clock()
        claims = {
            "iss": "corso-sandbox",
            "sub": client.client_id,
            "aud": self.audience,
            "iat": now,
            "exp": now + self.token_ttl,
            "jti": secrets.token_hex(8),
        }
        return sign_token(claims, self._signing_key)

    def client_for_token(self, token: str) -> ApiClient:
        """The client a bearer token stands for; ``TokenRefused`` says why not."""
        claims = read_token(token, self._signing_key)
        if claims is None:
            raise TokenRefused("The access token is invalid")
        if self.clock() >= float(claims.get("exp", 0)):
            raise TokenRefused("The access token expired")
        client = self.client(str(claims.get("sub")))
        if client is None:
            raise TokenRefused("The access token's client no longer exists")
        return client

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (as after a key rotation)."""
        self._signing_key = secrets.token_bytes(32)

    # --- rate limit

    def take_quota(self, caller: str) -> Quota:
        """Count one request against the caller's fixed window."""
        now = self.clock()
        with self._lock:
            window = self._windows.get(caller)
            if window is None or now >= window.ends_at:
                window = self._windows[caller] = _Window(ends_at=now + self.rate_window)
            exceeded = window.used >= self.rate_limit
            window.used += 0 if exceeded else 1
            reset_after = max(1, math.ceil(window.ends_at - now))
            return Quota(self.rate_limit, self.rate_limit - window.used, reset_after, exceeded)

    # --- request log

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self, endpoint: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if endpoint in (None, r.endpoint)]

    def statuses(self, endpoint: str) -> list[int]:
        return [r.status for r in self.requests(endpoint)]


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
