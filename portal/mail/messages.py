"""Emails rendered from ``templates/emails/``: ``<name>.subject.txt``, ``<name>.txt`` and
``<name>.html``, with an environment of their own (no request, no URL helpers: links are made
by the caller from ``PORTAL_BASE_URL``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import jinja2

from portal import i18n
from portal.paths import TEMPLATES_DIR
from portal.reorders.labels import status_label


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "emails"),
        autoescape=jinja2.select_autoescape(("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals["status_label"] = status_label
    return env


EMAILS = _environment()


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
