"""A staff member's browser over plain HTTP: sign in, post forms with the CSRF token."""

from __future__ import annotations

import asyncio
import re

import httpx

from portal.accounts import commands
from tests.helpers.shopper_flow import csrf_of

PASSWORD = "correct horse battery"
AGENT = "agent@example.com"
INVITATION_LINK = re.compile(r"(/support/invitations/[A-Za-z0-9_-]+)")


def invitation_path(email_text: str) -> str:
    """The path of the set-password link in an invitation email."""
    found = INVITATION_LINK.search(email_text)
    assert found is not None, email_text
    return found.group(1)


def create_user(
    database_url: str,
    email: str,
    role: str = "agent",
    store: str | None = None,
    password: str = PASSWORD,
) -> str:
    new_user = commands.NewUser(email=email, role=role, store_slug=store)
    return asyncio.run(commands.create_user(database_url, new_user, password))


class StaffBrowser:
    """One browser: its own cookies, redirects not followed so each answer can be read."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self._csrf: str | None = None

    def close(self) -> None:
        self.client.close()

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def sign_in(
        self, email: str = AGENT, password: str = PASSWORD, next: str | None = None
    ) -> httpx.Response:
        page = self.client.get("/support/login", params={"next": next} if next else None)
        self._csrf = csrf_of(page)
        data = {"csrf_token": self._csrf, "email": email, "password": password}
        if next is not None:
            data["next"] = next
        answer = self.client.post("/support/login", data=data)
        if answer.status_code == 303:
            self._csrf = None  # signing in gives the browser a new CSRF id
        return answer

    def csrf(self) -> str:
        """This browser's CSRF token (the same on every page for one browser)."""
        if self._csrf is None:
            page = self.client.get("/support/login")
            if page.status_code == 303:  # signed in: every support page has the sign-out form
                page = self.client.get("/support/account")
            self._csrf = csrf_of(page)
        return self._csrf

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf(), **data})

    def confirm(self, reference: str, path: str) -> httpx.Response:
        """Open the confirmation of a primary reorder or refund and press its button."""
        page = self.client.get(f"/support/requests/{reference}/confirm/{path}")
        seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page.text)
        assert seen is not None, f"no confirmation button on {page.status_code}: {page.text[:500]}"
        return self.post_form(f"/support/requests/{reference}/{path}", {"seen": seen.group(1)})

    def sign_out(self) -> httpx.Response:
        return self.post_form("/support/logout", {})

    def change_password(self, current: str, new: str, confirm: str | None = None) -> httpx.Response:
        return self.post_form(
            "/support/password",
            {
                "current_password": current,
                "new_password": new,
                "confirm_password": new if confirm is None else confirm,
            },
        )

    def invite(self, email: str, role: str = "agent", store: str = "") -> httpx.Response:
        """Invite from /support/staff/invite; ``store`` is the store's id as the form sends it."""
        return self.post_form(
            "/support/staff/invite", {"email": email, "role": role, "store": store}
        )

    def set_first_password(
        self, path: str, password: str = PASSWORD, confirm: str | None = None
    ) -> httpx.Response:
        """Open an invitation link and set the password it asks for."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        data = {
            "csrf_token": csrf_of(page),
            "new_password": password,
            "confirm_password": password if confirm is None else confirm,
        }
        answer = self.client.post(path, data=data)
        if answer.status_code == 303:
            self._csrf = None
        return answer

    @property
    def session_token(self) -> str | None:
        return self.client.cookies.get("portal_staff")
