"""Roles: agents and admins see every store and may act; a merchant user sees only its own
store and only reads."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.exceptions import HTTPException

from portal.accounts.guard import StaffUser, require_can_act, require_store_visible, store_scope
from portal.accounts.models import Role, User
from tests.helpers.portal import Portal
from tests.helpers.staff import StaffBrowser


def test_a_merchant_user_signs_in_to_a_read_only_view_of_its_store(
    portal: Portal, browser: StaffBrowser
) -> None:
    portal.create_store("Maple & Moss", "maple-and-moss")
    portal.create_user("owner@maple.example", role="merchant", store="maple-and-moss")
    assert browser.sign_in(email="owner@maple.example").status_code == 303
    home = browser.get("/support/account")
    assert home.status_code == 200
    assert "merchant" in home.text and "Maple &amp; Moss" in home.text and "Read-only" in home.text
    with portal.database() as db:
        user = db.scalars(select(User)).one()
    staff = StaffUser.of(user)
    assert staff.role is Role.MERCHANT and not staff.can_act and staff.store_id is not None
    assert store_scope(staff) == staff.store_id


def _staff(role: Role, store_id: int | None = None) -> StaffUser:
    return StaffUser(id=1, email="someone@example.com", role=role, store_id=store_id)


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_agents_and_admins_see_every_store_and_may_act(role: Role) -> None:
    staff = _staff(role)
    assert staff.can_act and staff.can_see_store(1) and staff.can_see_store(2)
    assert store_scope(staff) is None
    require_can_act(staff)
    require_store_visible(staff, 7)


def test_a_merchant_user_sees_only_its_store_and_may_not_act() -> None:
    staff = _staff(Role.MERCHANT, store_id=3)
    assert staff.can_see_store(3) and not staff.can_see_store(4)
    assert store_scope(staff) == 3
    with pytest.raises(HTTPException) as refused:
        require_can_act(staff)
    assert refused.value.status_code == 403
    with pytest.raises(HTTPException) as hidden:
        require_store_visible(staff, 4)
    assert hidden.value.status_code == 404
    require_store_visible(staff, 3)
