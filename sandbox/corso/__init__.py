"""A faithful stand-in for Corso's claims API: OAuth client credentials, List claims with cursor
pages, its rate limit, and failures tests can plan.

    world = CorsoWorld()
    world.add_client("portal", "s3cret", store_id=1101)
    world.add_claims(build_demo_claims(orders, seed=7, now=now))
    app = create_corso_sandbox(world)   # POST /oauth/token, GET /v1/claims
"""

from sandbox.corso.app import create_corso_sandbox
from sandbox.corso.clock import ManualClock
from sandbox.corso.world import ApiClient, CorsoWorld, Faults, Quota, RecordedRequest

__all__ = [
    "ApiClient",
    "CorsoWorld",
    "Faults",
    "ManualClock",
    "Quota",
    "RecordedRequest",
    "create_corso_sandbox",
]
