"""Emails rendered from ``templates/emails/``: ``<name>.subject.txt``, ``<name>.txt`` and
``<name>.html``, with an environment of their own (no request, no URL helpers: links are made
by the caller from ``PORTAL_BASE_URL``), in the language they are given: the one the shopper's
request remembers, or the page's where the shopper is there."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from portal import i18n, templating
from portal.paths import TEMPLATES_DIR

EMAILS = templating.environment(TEMPLATES_DIR / "emails", escaped=("html",), escape_strings=False)


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None
    kind: str

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)


def render_email(
    name: str, context: dict[str, Any], *, to: str, locale: str | None = None
) -> OutgoingEmail:
    """``locale`` None: the current page's language."""
    with i18n.using(locale or i18n.current_locale()):
        subject = EMAILS.get_template(f"{name}.subject.txt").render(context)
        return OutgoingEmail(
            to=to,
            subject=_one_line(subject),
            text=EMAILS.get_template(f"{name}.txt").render(context),
            html=EMAILS.get_template(f"{name}.html").render(context),
            kind=name,
        )


def _one_line(text: str) -> str:
    """A subject on one line; no-break spaces ("24,00\u00a0€", French "\u00a0:") are kept."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()
