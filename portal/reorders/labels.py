"""A request's status, issue and preferred resolution in words, the same on the shopper's pages,
the staff pages, exports and emails."""

from __future__ import annotations

from portal.i18n import gettext as _
from portal.reorders.models import IssueType, PreferredResolution, RequestStatus


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


def issue_labels() -> dict[str, str]:
    return {
        IssueType.LOST: _("Lost"),
        IssueType.STOLEN: _("Stolen"),
        IssueType.DAMAGED: _("Damaged"),
        IssueType.WRONG_ITEM: _("Wrong item"),
        IssueType.MISSING_ITEM: _("Missing item"),
    }


def issue_label(issue_type: str) -> str:
    return issue_labels().get(issue_type, issue_type.replace("_", " "))


def resolution_labels() -> dict[str, str]:
    """What the shopper would prefer, in the product's words."""
    return {
        PreferredResolution.REORDER: _("Replacement"),
        PreferredResolution.ALTERNATIVE: _("Something of equal value"),
        PreferredResolution.REFUND: _("Refund"),
    }


def resolution_label(resolution: str) -> str:
    return resolution_labels().get(resolution, resolution)
