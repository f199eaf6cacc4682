"""A shopper's steps through the portal, over real HTTP, as a browser without JavaScript
would take them: read the form, send it back with its CSRF token."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tests.helpers.environment import PortalEnvironment

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HIDDEN_VERIFICATION = re.compile(
    r'id="verification" name="verification" type="hidden" value="([^"]*)"'
)
QUANTITY = re.compile(r'name="(qty_\d+)"')
DELIVERY_ADDRESS = {
    "first_name": "Jane",
    "last_name": "Doe",
    "address1": "1 Main St",
    "city": "Springfield",
    "province_code": "IL",
    "zip": "62704",
    "country_code": "US",
}
"""The request form's address fields, as a shopper in the United States fills them in."""


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has no CSRF token"
    return html.unescape(found.group(1))


class ShopperFlow:
    def __init__(self, env: PortalEnvironment) -> None:
        self.env = env
        self.client = httpx.Client(base_url=env.base_url, follow_redirects=True, timeout=30)

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(f"/{self.env.slug}{path}", **kwargs)

    def post_form(
        self,
        path: str,
        page: httpx.Response,
        data: dict[str, Any],
        files: Any = None,
        **kwargs: Any,
    ) -> httpx.Response:
        data = {"csrf_token": csrf_of(page), **data}
        return self.client.post(f"/{self.env.slug}{path}", data=data, files=files, **kwargs)

    def look_up(self, order_name: str, email: str) -> httpx.Response:
        page = self.get("/")
        return self.post_form("/", page, {"order_number": order_name, "email": email})

    def enter_code(self, page: httpx.Response, code: str) -> httpx.Response:
        hidden = HIDDEN_VERIFICATION.search(page.text)
        assert hidden, "the code page has no verification field"
        return self.post_form("/verify", page, {"verification": hidden.group(1), "code": code})

    def verify(self, order_name: str, email: str) -> httpx.Response:
        """Look the order up, read the code from the mailbox, enter it: the request form."""
        code_page = self.look_up(order_name, email)
        assert code_page.status_code == 200, code_page.text
        return self.enter_code(code_page, self.env.code_for(email))

    def quantity_fields(self, page: httpx.Response) -> list[str]:
        return QUANTITY.findall(page.text)

    def file(
        self,
        form_page: httpx.Response,
        *,
        issue: str,
        quantities: dict[str, int],
        resolution: str = "reorder",
        photos: list[tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        data: dict[str, Any] = {
            "issue_type": issue,
            "resolution": resolution,
            "description": "Box was empty.",
            **DELIVERY_ADDRESS,
            **{name: str(q) for name, q in quantities.items()},
            **fields,
        }
        files = [("photos", photo) for photo in photos or []] or None
        return self.post_form("/request", form_page, data, files=files, headers=headers)

    def submit(self, review_page: httpx.Response) -> httpx.Response:
        action = re.search(r'action="([^"]*/review/[^"]+)"', review_page.text)
        assert action, "the review page has no submit form"
        data = {"csrf_token": csrf_of(review_page)}
        return self.client.post(html.unescape(action.group(1)), data=data)


# What a demo order's parcel (orders.json's "parcel") may be reported as under the demo stores'
# windows: a delivered parcel as stolen, one that stopped moving or failed delivery as lost.
REPORTABLE = {"delivered": "Stolen", "no_movement": "Lost", "problem": "Lost"}
