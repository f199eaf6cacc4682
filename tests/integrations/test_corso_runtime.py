"""The runtime's Corso clients: one per store's own credentials, kept for the process, naming no
store unless a setting says how."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Secret

from portal.runtime import Runtime, open_runtime
from portal.settings import Settings
from portal.stores.models import Store
from sandbox.corso import CorsoWorld, create_corso_sandbox
from sandbox.corso.samples import bare_claim
from tests.helpers.factories import SEALER, TEST_ENCRYPTION_KEY
from tests.helpers.servers import serve

pytestmark = pytest.mark.anyio

MAPLE, HARBOR = 1101, 2202
ANN = "ann.lee@example.com"


def store(client: tuple[str, str] | None, corso_store_id: int | None = None) -> Store:
    client_id, secret = client or (None, None)
    return Store(
        corso_client_id=client_id,
        sealed_corso_client_secret=SEALER.seal_optional(secret),
        corso_store_id=corso_store_id,
    )


@pytest.fixture
def world() -> CorsoWorld:
    world = CorsoWorld()
    world.add_client("maple", "maple-secret", MAPLE)
    world.add_client("harbor", "harbor-secret", HARBOR)
    for claim_id, corso_store in ((1, MAPLE), (2, HARBOR), (3, MAPLE)):
        world.add_claim(bare_claim(claim_id, store_id=corso_store, customer_email=ANN))
    return world


@pytest.fixture
def corso_url(world: CorsoWorld) -> Iterator[str]:
    with serve(create_corso_sandbox(world)) as url:
        yield url


@pytest.fixture
def settings(corso_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        corso_api_url=f"{corso_url}/v1",
        corso_auth_url=f"{corso_url}/oauth/token",
        encryption_keys=Secret(TEST_ENCRYPTION_KEY),
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as runtime:
        yield runtime


async def claims_of(runtime: Runtime, of: Store) -> list[str | None]:
    corso = runtime.corso(of)
    assert corso is not None
    return [claim.external_id async for claim in corso.iter_claims(customer_email=ANN)]


async def test_each_store_reads_its_own_claims_with_its_own_credentials(
    runtime: Runtime, world: CorsoWorld
) -> None:
    maple, harbor = store(("maple", "maple-secret")), store(("harbor", "harbor-secret"))

    assert sorted(await claims_of(runtime, maple)) == ["1001-1", "1001-3"]
    assert await claims_of(runtime, harbor) == ["1001-2"]
    assert all(
        set(r.params) == {"orderBy", "customerEmail", "first"} for r in world.requests("claims")
    )


async def test_one_client_and_token_per_credentials_for_the_process(
    runtime: Runtime, world: CorsoWorld
) -> None:
    maple = store(("maple", "maple-secret"))
    maple_again = store(("maple", "maple-secret"))  # another request, another row object

    first, again = await claims_of(runtime, maple), await claims_of(runtime, maple_again)

    assert runtime.corso(maple) is runtime.corso(maple_again)
    assert runtime.corso(maple) is not runtime.corso(store(("harbor", "harbor-secret")))
    assert first == again
    assert [r.client_id for r in world.requests("token")] == ["maple"]


async def test_a_store_without_credentials_has_no_corso_client(runtime: Runtime) -> None:
    assert runtime.corso(store(None, MAPLE)) is None
    assert runtime.corso(store(("maple", ""))) is None


async def test_a_store_parameter_is_sent_only_when_a_setting_names_it(
    settings: Settings, world: CorsoWorld
) -> None:
    world.store_param = "storeId"
    async with open_runtime(settings.with_overrides(corso_store_param="storeId")) as runtime:
        named = await claims_of(runtime, store(("maple", "maple-secret"), MAPLE))
        unnamed = await claims_of(runtime, store(("maple", "maple-secret")))

    params: list[dict[str, Any]] = [dict(r.params) for r in world.requests("claims")]
    assert sorted(named) == sorted(unnamed) == ["1001-1", "1001-3"]
    assert [p.get("storeId") for p in params] == ["1101", None]
