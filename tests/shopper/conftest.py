"""The shopper's browser-less steps through a running portal, for every test here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.environment import PortalEnvironment
from tests.helpers.shopper_flow import ShopperFlow


@pytest.fixture
def shopper(env: PortalEnvironment) -> Iterator[ShopperFlow]:
    flow = ShopperFlow(env)
    yield flow
    flow.close()
