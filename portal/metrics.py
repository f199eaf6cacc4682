"""The portal's Prometheus metrics (prometheus-client), counted in each process.

Every process (each web process, each ``portal worker``) counts its own and is scraped on its
own: a web process at ``/metrics`` (only when ``PORTAL_METRICS_TOKEN`` is set, with that bearer
token), a worker on ``PORTAL_METRICS_PORT``. Counters of several processes add up in
Prometheus (``sum without (instance)``). The queue gauges are read from the database at scrape
time (``portal.jobs.metrics``), so every process reports the same queue: take their ``max``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests answered, by route template (never the raw path), method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
JOB_OUTCOMES = Counter(
    "portal_job_outcomes",
    "Jobs run by this process, by kind and outcome: done, retried (backing off) or parked "
    "(attempts spent or a failure that will not pass; waits for an agent).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "portal_job_duration_seconds",
    "Time a job's handler ran, by kind.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
SHOPIFY_THROTTLE_WAITS = Counter(
    "portal_shopify_throttle_waits",
    "Times the Shopify client waited for query points or retried after THROTTLED or 429.",
    registry=REGISTRY,
)
SHOPIFY_THROTTLE_SECONDS = Counter(
    "portal_shopify_throttle_wait_seconds",
    "Seconds the Shopify client spent waiting for query points or a throttled retry.",
    registry=REGISTRY,
)
CORSO_ERRORS = Counter(
    "portal_corso_errors",
    "Corso failures raised to the portal, by kind (the exception: CorsoUnavailable, ...).",
    ["kind"],
    registry=REGISTRY,
)


def shopify_throttle_wait(seconds: float) -> None:
    SHOPIFY_THROTTLE_WAITS.inc()
    SHOPIFY_THROTTLE_SECONDS.inc(seconds)
