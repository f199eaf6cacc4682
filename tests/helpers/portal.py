"""Running the portal itself on loopback for tests that use it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.datastructures import Secret

from portal.app import create_app
from portal.settings import Mode, Settings
from tests.helpers.servers import serve

TEST_SECRET = "test-secret-" + "s" * 40


def portal_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": Mode.DEVELOPMENT,
        "secret_key": TEST_SECRET,
        "database_url": database_url,
    }
    values.update(overrides)
    values["secret_key"] = Secret(str(values["secret_key"]))
    return Settings(**values)


@contextmanager
def running_portal(
    settings: Settings, *, port: int | None = None, **app_kwargs: Any
) -> Iterator[str]:
    with serve(create_app(settings, **app_kwargs), port=port) as base_url:
        yield base_url
