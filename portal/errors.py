"""Every exception the portal raises on purpose, in one tree.

    PortalError
    ├── IntegrationError            an outside service failed us
    │   ├── ShopifyError
    │   │   ├── ShopifyUnavailable      5xx, 429, timeouts, dropped connections, retries spent
    │   │   │   └── OutcomeUnknown          a mutation's answer was lost: applied or not?
    │   │   ├── ShopifyThrottled        THROTTLED for longer than the client is willing to wait
    │   │   ├── ShopifyAuthError        401/403/423: token, scope or shop problem
    │   │   │   └── GrantRefused            the token endpoint refused a code or refresh token
    │   │   ├── ShopifyResponseError    nonsense: bad JSON, unexpected GraphQL errors
    │   │   │   ├── ShopifyMalformed        an answer without the shape the document asked for
    │   │   │   └── ShopifyGraphQLError     GraphQL ``errors``: the query or variables refused
    │   │   │       └── QueryCostExceeded       a query that can never fit the cost limit
    │   │   ├── RefundOutcomeUnknown    a refund without a key whose answer was lost
    │   │   └── ShopifyUserError        a mutation's userErrors (business rule refused)
    │   │       └── InventoryClaimFailed    orderCreate could not claim stock
    │   └── CorsoError
    │       ├── CorsoUnavailable        5xx, timeouts, rate limits beyond the retry budget
    │       ├── CorsoAuthError          credentials refused, token refused after a refresh
    │       ├── CorsoForbidden          the store may not be read with these credentials
    │       ├── CorsoBadRequest         400: a filter or cursor the API refused
    │       └── CorsoResponseError      an answer that does not make sense
    ├── MailUnavailable             the mail server refused or could not be reached
    ├── StorageUnavailable          the upload storage (object storage) failed or was unreachable
    ├── SettingsError               configuration refused at start-up (also a ValueError)
    │   └── SealBroken                  a sealed secret opens under none of the encryption keys
    ├── RetryLater                  a job must wait (e.g. for rate-limit points) and run again
    ├── InvalidInput                input from outside that cannot be read: answered with a 4xx
    │   ├── InvalidToken                a signed token tampered with or for another purpose
    │   │   └── ExpiredToken                genuine but too old
    │   ├── InvalidCursor               a queue page cursor the portal did not make
    │   ├── BadMonth                    not YYYY-MM
    │   ├── BodyTooLarge                a request body over its limit
    │   ├── SignatureRefused            a webhook not signed with the secret
    │   ├── StorageKeyRefused           a name for an uploaded file the portal could not have made
    │   └── MalformedDelivery           a signed webhook without what Shopify always sends
    ├── NotFound                    a thing named from outside does not exist
    │   └── UnknownStore
    └── Refused                     a rule of the product said no; ``str()`` or ``message`` says why
        ├── ActionRefused               an agent's action does not apply to the request now
        ├── RuleRefused                 an automation rule or limit that cannot be accepted
        ├── NotEligible                 the order stopped being claimable before Submit
        ├── NothingLeftToClaim          the items were claimed or refunded before Submit
        ├── PhotoRejected               an upload that cannot be accepted
        ├── VerificationError           an order lookup or code not accepted
        │   ├── TooManyLookups
        │   ├── WrongCode
        │   ├── CodeExpired
        │   └── TooManyTries
        ├── AccountError                staff account rules
        │   ├── AccountRefused              create-user or new-password input refused
        │   │   └── StaffRefused                a staff change refused; ``field`` says where
        │   ├── InvitationRefused           an invitation link forged, expired or already used
        │   ├── WrongCurrentPassword
        │   └── LoginRefused                email or password is not right (the same when unknown)
        │       └── AccountLocked               too many failures: wait until the lock ends
        ├── InvoiceError                an invoice cannot be closed as asked
        ├── InstallRefused              a Shopify install callback not trusted or not completed
        ├── StoreInactive               the store uninstalled the app: no pages, no jobs
        ├── StoreRefused                a store setting refused: ``field`` and ``message`` say why
        └── CurrencyMismatch            an order in another currency than its store bills in

``retryable = True`` marks transient failures (``Unavailable``, ``Throttled``, ``RetryLater``):
the job queue backs off and tries again; any other ``PortalError`` parks a job at once, and an
exception outside this tree is a bug (logged with its traceback, retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.i18n import N_, gettext, ngettext


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


class GrantRefused(ShopifyAuthError):
    """Shopify's token endpoint refused the code, refresh token or client credentials: asking
    again with the same values will not help."""


class ShopifyResponseError(ShopifyError):
    pass


class ShopifyMalformed(ShopifyResponseError):
    """The answer does not have the shape the document asked for."""


class ShopifyGraphQLError(ShopifyResponseError):
    """Shopify answered with GraphQL ``errors`` (the query or its variables were refused)."""

    def __init__(self, message: str, codes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.codes = frozenset(codes)


class QueryCostExceeded(ShopifyGraphQLError):
    """The query asks for more points than Shopify allows in one query (or than the bucket
    holds): it can never run as it is, however long the client waits."""


class OutcomeUnknown(ShopifyUnavailable):
    """A mutation was sent but its answer was lost: it may or may not have been applied."""


class RefundOutcomeUnknown(ShopifyError):
    """A refund without an idempotency key was sent and its answer lost. It must not be sent
    again blindly: someone has to look at the order's refunds in Shopify."""

    retryable = False


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


class StorageUnavailable(PortalError):
    """The upload storage failed: object storage down, refusing or unreachable. A job that
    meets it retries later; a page answers 503."""

    retryable = True


class SettingsError(PortalError, ValueError):
    """A setting is missing, malformed or unsafe; the portal refuses to start."""


class SealBroken(SettingsError):
    """A sealed secret opens under none of ``PORTAL_ENCRYPTION_KEYS`` (a key was dropped too
    early, or the database came from another installation)."""


class RetryLater(PortalError):
    """Raised by a handler that must wait (e.g. for rate-limit points) before trying again."""

    retryable = True

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


# --- input from outside ------------------------------------------------------------------------


class InvalidInput(PortalError):
    """A value from a URL, form, cookie, token or webhook that cannot be read."""


class InvalidToken(InvalidInput):
    """The token was tampered with, minted for another purpose, or is not a token at all."""


class ExpiredToken(InvalidToken):
    """The token was genuine but is older than its purpose allows."""


class InvalidCursor(InvalidInput):
    """A page cursor that was not made by ``Cursor.encode``."""


class BadMonth(InvalidInput, ValueError):
    """Not a month of the form YYYY-MM."""


class BodyTooLarge(InvalidInput):
    pass


class StorageKeyRefused(InvalidInput, ValueError):
    """A storage key with anything but slash-separated segments of letters, digits, ``_``,
    ``-`` and ``.`` (none starting with a dot): it could escape the upload directory."""


class SignatureRefused(InvalidInput):
    """The delivery is not signed with the webhook secret (or the secret is not set)."""


class MalformedDelivery(InvalidInput, ValueError):
    """A correctly signed delivery that lacks what Shopify always sends."""


class NotFound(PortalError, LookupError):
    """Something named from outside (a store slug, an id) does not exist."""


class UnknownStore(NotFound):
    pass


# --- rules of the product ------------------------------------------------------------------------


class Refused(PortalError):
    """A rule of the product said no; the message says why."""


class InstallRefused(Refused):
    """A Shopify install callback that is forged, replayed, for another shop, denied or failed;
    ``message`` says which, in words for the admin. Nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreInactive(Refused):
    """The store uninstalled the app: its pages say so and its jobs stop. ``store_name`` and
    ``support_email`` are what its shoppers are shown."""

    def __init__(self, store_name: str, support_email: str = "") -> None:
        super().__init__(
            f"{store_name} uninstalled the app: nothing is asked of Shopify or sent to its "
            "shoppers until it is installed again"
        )
        self.store_name = store_name
        self.support_email = support_email


class StoreRefused(Refused):
    """A store setting (settings page or ``portal stores``) that cannot be accepted; ``field``
    names the setting and ``message`` says why, in words for the admin. Nothing is stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ActionRefused(Refused):
    """The action does not apply to the request as it stands; ``message`` says why, and
    ``field`` names the form field it belongs beside, if one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NothingLeftToClaim(Refused, ValueError):
    """Between the form and Submit, the items were claimed or refunded."""


class NotEligible(Refused, ValueError):
    """Between the form and Submit, the order stopped being claimable (window, cancellation)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class PhotoRejected(Refused):
    """An upload that cannot be accepted; ``message`` says why, in words for the shopper."""

    def __init__(self, message: str, *, filename: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename


class VerificationError(Refused):
    """The code was not accepted; ``message`` says why in English, ``text()`` in the
    shopper's language."""

    message = N_("That code did not work.")

    def text(self) -> str:
        return gettext(self.message)


class TooManyLookups(VerificationError):
    message = N_("Too many attempts. Please wait an hour and try again, or contact the store.")


class WrongCode(VerificationError):
    def __init__(self, tries_left: int) -> None:
        super().__init__("wrong code")
        self.tries_left = tries_left
        self.message = f"That code is not right. {tries_left} tries left."

    def text(self) -> str:
        return ngettext(
            "That code is not right. %(num)s try left.",
            "That code is not right. %(num)s tries left.",
            self.tries_left,
        )


class CodeExpired(VerificationError):
    message = N_("That code has expired or was already used. Ask for a new one.")


class TooManyTries(VerificationError):
    message = N_("Too many wrong codes. Ask for a new one.")


class AccountError(Refused):
    """Base of the account errors; ``message`` is fit to show to the person."""

    message = "Something is wrong with this account."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message


class AccountRefused(AccountError):
    message = "The account could not be saved."


class StaffRefused(AccountRefused):
    """An invitation, role, store or status change an admin or merchant may not make;
    ``field`` names the form field it is about (empty: the whole form). Nothing is stored."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class InvitationRefused(AccountError):
    """The invitation link is not one the portal sent, has expired, or was already used."""

    message = "This invitation link does not work: it has expired or was already used."


class WrongCurrentPassword(AccountError):
    message = "The current password is not right."


class LoginRefused(AccountError):
    message = "Email or password is not right."


class AccountLocked(LoginRefused):
    message = "Too many failed sign-ins: this account is locked for a while. Try again later."


class InvoiceError(Refused):
    """The invoice cannot be closed as asked; ``str(error)`` says why."""


class CurrencyMismatch(Refused):
    """An order is in another currency than its store bills in; it is left out of the ledger."""


class RuleRefused(Refused):
    """An automation rule or limit an admin gave that cannot be accepted; ``field`` names the
    form field and ``message`` says why. Nothing is stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
