"""The one billing form: closing a month (a CSRF token and nothing else)."""

from __future__ import annotations

from portal.forms import PortalForm


class CloseInvoiceForm(PortalForm):
    pass
