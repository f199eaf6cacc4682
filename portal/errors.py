"""The portal's exceptions.

    PortalError
    ├── IntegrationError            an outside service failed us
    │   ├── ShopifyError
    │   │   ├── ShopifyUnavailable      5xx, 429, timeouts, dropped connections, retries spent
    │   │   ├── ShopifyThrottled        THROTTLED for longer than the client is willing to wait
    │   │   ├── ShopifyAuthError        401/403/423: token, scope or shop problem
    │   │   ├── ShopifyResponseError    nonsense: bad JSON, unexpected GraphQL errors
    │   │   └── ShopifyUserError        a mutation's userErrors (business rule refused)
    │   │       └── InventoryClaimFailed    orderCreate could not claim stock
    │   └── CorsoError
    │       ├── CorsoUnavailable        5xx, timeouts, rate limits beyond the retry budget
    │       ├── CorsoAuthError          credentials refused, token refused after a refresh
    │       ├── CorsoForbidden          the store may not be read with these credentials
    │       ├── CorsoBadRequest         400: a filter or cursor the API refused
    │       └── CorsoResponseError      an answer that does not make sense
    ├── MailUnavailable             the mail server refused or could not be reached
    └── SettingsError (portal.settings)  configuration refused at start-up

Transient failures (``Unavailable``, ``Throttled``) carry ``retryable = True`` so the queue can
decide to back off and try again; everything else is final for the attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class PortalError(Exception):
    """Base of every error the portal raises on purpose."""

    retryable: bool = False


class IntegrationError(PortalError):
    """An outside service did not do what was asked."""

    service: str = "outside service"


class ShopifyError(IntegrationError):
    service = "Shopify"


class ShopifyUnavailable(ShopifyError):
    retryable = True


class ShopifyThrottled(ShopifyError):
    retryable = True


class ShopifyAuthError(ShopifyError):
    pass


class ShopifyResponseError(ShopifyError):
    pass


@dataclass(frozen=True)
class UserErrorDetail:
    message: str
    field: tuple[str, ...] = ()
    code: str | None = None


class ShopifyUserError(ShopifyError):
    def __init__(self, errors: Sequence[UserErrorDetail]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(e.message for e in self.errors) or "Shopify refused the request")

    @property
    def codes(self) -> set[str]:
        return {e.code for e in self.errors if e.code}


class InventoryClaimFailed(ShopifyUserError):
    """Stock ran out between the check and the order: offer the other paths."""


class CorsoError(IntegrationError):
    service = "Corso"


class CorsoUnavailable(CorsoError):
    retryable = True


class CorsoAuthError(CorsoError):
    pass


class CorsoForbidden(CorsoError):
    pass


class CorsoBadRequest(CorsoError):
    pass


class CorsoResponseError(CorsoError):
    pass


class MailUnavailable(PortalError):
    """The SMTP server is down or refused the message; the email job retries later."""

    retryable = True
