"""Staff accounts end to end: the ``portal`` of tests/conftest.py on the database under test,
users made through the create-user command's code, and browsers that sign in the way a person
would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.portal import Portal
from tests.helpers.staff import StaffBrowser


@pytest.fixture
def browser(portal: Portal) -> Iterator[StaffBrowser]:
    staff = portal.browser()
    yield staff
    staff.close()


@pytest.fixture
def other_browser(portal: Portal) -> Iterator[StaffBrowser]:
    staff = portal.browser()
    yield staff
    staff.close()
