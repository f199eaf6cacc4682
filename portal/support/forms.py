"""The agent's forms: notes, questions, denials, the alternative reorder, the confirmation of
a payment and the corrected shipping address."""

from __future__ import annotations

import re
from decimal import Decimal

from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.forms import MoneyField, PortalForm
from portal.i18n import lazy_gettext as _l


class ActionForm(PortalForm):
    """A button with nothing to fill in (assign, reorder, refund, retry)."""


class NoteForm(PortalForm):
    text = TextAreaField(
        _l("Internal note"),
        validators=[DataRequired(_l("Write the note.")), Length(max=2000)],
        description=_l("Only staff see notes."),
    )


class QuestionForm(PortalForm):
    question = TextAreaField(
        _l("Question for the shopper"),
        validators=[DataRequired(_l("Write the question.")), Length(max=1000)],
        description=_l("Emailed to the shopper, who answers on their status page."),
    )


class DenyForm(PortalForm):
    reason = TextAreaField(
        _l("Reason for the shopper"),
        validators=[DataRequired(_l("Give the reason.")), Length(max=1000)],
        description=_l("Emailed to the shopper."),
    )


class AlternativeForm(PortalForm):
    order_name = StringField(
        _l("Store order number"),
        validators=[
            DataRequired(_l("Enter the order number of the purchase, e.g. #1234.")),
            Regexp(re.compile(r"^#?\s*[A-Za-z0-9-]{1,30}$"), message=_l("Like #1234.")),
        ],
        description=_l("The order placed on the store with the company card."),
    )
    description = TextAreaField(
        _l("What was bought"),
        validators=[DataRequired(_l("Describe the items bought.")), Length(max=1000)],
    )
    amount = MoneyField(
        _l("Amount paid"),
        places=2,
        validators=[
            DataRequired(_l("Enter the amount paid.")),
            NumberRange(
                min=Decimal("0.01"),
                max=Decimal("100000"),
                message=_l("Enter an amount above zero."),
            ),
        ],
    )


class ConfirmForm(PortalForm):
    """The confirmation of a primary reorder or refund: ``seen`` is the version of the request
    the agent confirmed (``actions.version``); an older one moves no money."""

    seen = HiddenField(
        validators=[
            DataRequired(_l("Open the confirmation first: it shows what will happen.")),
            Length(max=64),
        ]
    )


class AddressForm(PortalForm):
    """Where a reorder ships, as the agent corrects it. The same fields as the shopper's
    request form; the stricter per-country rules belong to the shared address module."""

    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    company = StringField(_l("Company (optional)"), validators=[Optional(), Length(max=100)])
    address1 = StringField(_l("Street address"), validators=[DataRequired(), Length(max=200)])
    address2 = StringField(
        _l("Apartment, suite, etc. (optional)"), validators=[Optional(), Length(max=200)]
    )
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    province_code = StringField(
        _l("State or province code"),
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z0-9]{1,3}$", message=_l("Use the short code, for example CA.")),
        ],
    )
    zip = StringField(_l("Postal code"), validators=[DataRequired(), Length(max=12)])
    country_code = StringField(
        _l("Country code"),
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z]{2}$", message=_l("Use the two-letter code, for example US.")),
        ],
    )
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30)])

    NAMES = (
        "first_name",
        "last_name",
        "company",
        "address1",
        "address2",
        "city",
        "province_code",
        "zip",
        "country_code",
        "phone",
    )

    def address(self) -> dict[str, str]:
        """The address as the request row keeps it (codes upper-case)."""
        values = {name: (self[name].data or "").strip() for name in self.NAMES}
        values["country_code"] = values["country_code"].upper()
        values["province_code"] = values["province_code"].upper()
        return values
