"""The agent's forms: notes, questions, denials, the alternative reorder, the confirmation of
a payment and the corrected shipping address."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.address_form import AddressForm as SharedAddressForm
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


class AddressForm(SharedAddressForm):
    """Where a reorder ships, as the agent corrects it: the shopper's fields and the same
    per-country rules (``portal.address_form``), each problem beside its field."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return self.check_address() and valid


class ReviewSignalForm(PortalForm):
    """Mark one risk signal of the request reviewed (the key is the page's, checked again)."""

    signal = HiddenField(
        validators=[DataRequired(_l("Choose the signal.")), Length(max=200)],
    )


class AssignForm(PortalForm):
    """Assign the request: to the agent pressing the button, or to the staff member chosen
    (checked against who may see the store when it is done)."""

    assignee = StringField(
        _l("Assign to"),
        validators=[Optional(), Regexp(re.compile(r"^[0-9]{1,12}$"), message=_l("Choose a name."))],
    )
