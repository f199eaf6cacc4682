"""Emails rendered from ``templates/emails/``: ``<name>.subject.txt``, ``<name>.txt`` and
``<name>.html``, with an environment of their own (no request, no URL helpers: links are made
by the caller from ``PORTAL_BASE_URL``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from portal import templating
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


def render_email(name: str, context: dict[str, Any], *, to: str) -> OutgoingEmail:
    subject = EMAILS.get_template(f"{name}.subject.txt").render(context)
    return OutgoingEmail(
        to=to,
        subject=" ".join(subject.split()),
        text=EMAILS.get_template(f"{name}.txt").render(context),
        html=EMAILS.get_template(f"{name}.html").render(context),
        kind=name,
    )
