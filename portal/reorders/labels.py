"""A request's status in words, the same on the shopper's pages, the staff pages and emails."""

from __future__ import annotations

from portal.i18n import gettext as _
from portal.reorders.models import RequestStatus


def status_labels() -> dict[str, str]:
    """Every status as people read it, in the current language."""
    return {
        RequestStatus.SUBMITTED: _("Submitted"),
        RequestStatus.IN_REVIEW: _("In review"),
        RequestStatus.NEEDS_INFO: _("More information needed"),
        RequestStatus.NEEDS_ATTENTION: _("Needs attention"),
        RequestStatus.REORDERED: _("Reorder created"),
        RequestStatus.REFUNDED: _("Refunded"),
        RequestStatus.RESOLVED: _("Resolved"),
        RequestStatus.DENIED: _("Denied"),
    }


def status_label(status: str) -> str:
    return status_labels().get(status, status)


def shopper_status_label(status: str) -> str:
    """The status as the shopper reads it: work that needs an agent is, to them, in review."""
    if status == RequestStatus.NEEDS_ATTENTION:
        status = RequestStatus.IN_REVIEW
    return status_label(status)
