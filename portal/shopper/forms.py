"""The shopper's forms: order lookup, code, and the request itself."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from wtforms import (
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from portal.address_form import AddressForm
from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l
from portal.integrations.shopify.models import Address, LineItem
from portal.reorders import additions
from portal.reorders.models import IssueType, PreferredResolution, ReorderRequest
from portal.reorders.service import PhotoRecord, RequestDraft

ORDER_NUMBER = re.compile(r"^#?\s*[A-Za-z0-9][A-Za-z0-9-]{0,30}$")
DESCRIPTION_LIMIT = 2000

ISSUE_CHOICES = [
    SelectChoice(IssueType.LOST.value, _l("Lost: the parcel never arrived")),
    SelectChoice(IssueType.STOLEN.value, _l("Stolen: it was delivered, then taken")),
    SelectChoice(IssueType.DAMAGED.value, _l("Damaged: it arrived broken")),
    SelectChoice(IssueType.WRONG_ITEM.value, _l("Wrong item: I received something else")),
    SelectChoice(IssueType.MISSING_ITEM.value, _l("Missing item: the parcel arrived without it")),
]
RESOLUTION_CHOICES = [
    SelectChoice(PreferredResolution.REORDER.value, _l("Send the same items again")),
    SelectChoice(PreferredResolution.ALTERNATIVE.value, _l("Something else of equal value")),
    SelectChoice(PreferredResolution.REFUND.value, _l("A refund to my original payment method")),
]


class LookupForm(PortalForm):
    order_number = StringField(
        _l("Order number"),
        validators=[
            DataRequired(_l("Enter your order number, for example #1001.")),
            Regexp(
                ORDER_NUMBER,
                message=_l(
                    "Enter the order number as it appears in your "
                    "confirmation email, for example #1001."
                ),
            ),
        ],
        description=_l("It is in your order confirmation email, for example #1001."),
    )
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter the email address you used for the order.")),
            Length(max=254),
            Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        ],
        description=_l("The one you used when you placed the order."),
    )


class CodeForm(PortalForm):
    verification = HiddenField(validators=[DataRequired(), Length(max=64)])
    code = StringField(
        _l("6-digit code"),
        validators=[
            DataRequired(_l("Enter the 6-digit code from the email.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code is 6 digits, like 123456.")),
        ],
    )


class ContinueForm(PortalForm):
    """A single button: used where a GET must not change anything (links in emails)."""


class AnswerForm(PortalForm):
    """The shopper's answer to an agent's question: words, photos, or both."""

    answer = TextAreaField(
        _l("Your answer"),
        validators=[Optional(), Length(max=DESCRIPTION_LIMIT)],
    )
    photos = MultipleFileField(
        _l("Photos (optional)"),
        description=_l("JPEG, PNG, WebP or HEIC, up to 5 photos of 10 MB each."),
    )

    def uploads(self) -> list[Any]:
        """The files chosen (a browser sends an empty part for a file input left empty)."""
        return [f for f in self.photos.data or () if getattr(f, "filename", "")]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if not (self.answer.data or "").strip() and not self.uploads():
            self.answer.errors = [*self.answer.errors, str(_l("Write your answer."))]
            return False
        return valid


class RequestForm(AddressForm):
    """What happened, which items, and what the shopper would like. Quantity fields are added
    per line item by ``request_form_class``."""

    issue_type = RadioField(
        _l("What happened?"),
        choices=ISSUE_CHOICES,
        validators=[InputRequired(_l("Choose what happened to your parcel."))],
    )
    description = TextAreaField(
        _l("Tell us more (optional)"),
        validators=[Optional(), Length(max=DESCRIPTION_LIMIT)],
    )
    photos = MultipleFileField(
        _l("Photos"),
        description=_l(
            "For damaged or wrong items: JPEG, PNG, WebP or HEIC, up to 5 photos of 10 MB each."
        ),
    )
    from_draft = HiddenField(validators=[Optional(), Length(max=32)])
    keep_photo = SelectMultipleField(
        _l("Photos you attached (untick one to remove it)"),
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    resolution = RadioField(
        _l("What would you like?"),
        choices=RESOLUTION_CHOICES,
        default=PreferredResolution.REORDER.value,
        validators=[InputRequired(_l("Choose what you would like."))],
    )
    alternative_wish = TextAreaField(
        _l("What would you like instead?"),
        validators=[Optional(), Length(max=500)],
    )
    add_to = RadioField(
        _l("Is this part of your open request?"),
        choices=[],
        default="",
        validate_choice=False,
    )

    quantity_fields: Sequence[tuple[LineItem, int]] = ()
    open_requests: Sequence[ReorderRequest] = ()

    def quantity_field(self, line: LineItem) -> Field:
        return self[f"qty_{_field_key(line.id)}"]

    def chosen_quantities(self) -> dict[str, int]:
        chosen = {}
        for line, _claimable in self.quantity_fields:
            value = self.quantity_field(line).data or 0
            if value > 0:
                chosen[line.id] = int(value)
        return chosen

    def offer_attached(self, photos: Sequence[PhotoRecord]) -> None:
        """The photos of the draft this form was reopened from, each to keep or remove."""
        self.keep_photo.choices = [
            (p.photo_id, str(_l("Photo %(n)s (%(w)s by %(h)s pixels)", n=i, w=p.width, h=p.height)))
            for i, p in enumerate(photos, start=1)
        ]

    def kept_photos(self, photos: Sequence[PhotoRecord]) -> list[PhotoRecord]:
        """Those of ``photos`` the shopper left ticked."""
        chosen = set(self.keep_photo.data or ())
        return [p for p in photos if p.photo_id in chosen]

    @property
    def chosen_issue(self) -> IssueType | None:
        try:
            return IssueType(self.issue_type.data)
        except ValueError:
            return None

    @property
    def chosen_resolution(self) -> PreferredResolution:
        try:
            return PreferredResolution(self.resolution.data)
        except ValueError:
            return PreferredResolution.REORDER

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        return self._check_items() & self._check_resolution() & valid

    def _check_items(self) -> bool:
        if self.chosen_quantities():
            return True
        if self.quantity_fields:
            first = self.quantity_field(self.quantity_fields[0][0])
            first.errors = [*first.errors, str(_l("Choose at least one item and how many."))]
        return False

    def _check_resolution(self) -> bool:
        if (
            self.chosen_resolution is PreferredResolution.ALTERNATIVE
            and not (self.alternative_wish.data or "").strip()
        ):
            self.alternative_wish.errors = [str(_l("Tell us what you would like instead."))]
            return False
        if self.chosen_resolution is PreferredResolution.REORDER:
            return self._check_address()
        return True

    def _check_address(self) -> bool:
        return self.check_address()

    def shipping_address(self) -> dict[str, str] | None:
        if self.chosen_resolution is not PreferredResolution.REORDER:
            return None
        return self.address()


def _field_key(line_item_id: str) -> str:
    return line_item_id.rsplit("/", 1)[-1]


def request_form_class(
    lines: Sequence[tuple[LineItem, int]], open_requests: Sequence[ReorderRequest] = ()
) -> type[RequestForm]:
    """A RequestForm with one quantity field per line item, limited to what is claimable, and
    the choice to add them to one of the order's open requests the team has not started on."""

    class OrderRequestForm(RequestForm):
        quantity_fields = tuple(lines)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.open_requests = tuple(open_requests)
            unworked = [r for r in open_requests if additions.is_unworked(r)]
            if unworked or self.add_to.data:
                self.add_to.choices = [
                    ("", str(_l("No: file it as a separate request"))),
                    *(
                        (r.reference, str(_l("Yes: add it to request %(ref)s", ref=r.reference)))
                        for r in unworked
                    ),
                ]

    for line, claimable in lines:
        setattr(
            OrderRequestForm,
            f"qty_{_field_key(line.id)}",
            IntegerField(
                line.name,
                default=0,
                validators=[
                    Optional(),
                    NumberRange(
                        min=0,
                        max=claimable,
                        message=str(_l("Choose between 0 and %(max)s.", max=claimable)),
                    ),
                ],
            ),
        )
    return OrderRequestForm


def data_from_draft(draft: RequestDraft) -> dict[str, object]:
    """The request form filled in as the draft left it (the Review page's Change link)."""
    data: dict[str, object] = {
        "issue_type": draft.issue_type.value,
        "resolution": draft.resolution.value,
        "description": draft.description,
        "alternative_wish": draft.alternative_wish,
        **(draft.shipping_address or {}),
    }
    for line_id, quantity in draft.quantities.items():
        data[f"qty_{_field_key(line_id)}"] = quantity
    data["add_to"] = draft.add_to
    data["from_draft"] = draft.submit_key
    data["keep_photo"] = [p.photo_id for p in draft.photos]
    return data


def data_from_address(address: Address | None) -> dict[str, object]:
    """The request form's address fields filled in from the order's shipping address."""
    if address is None:
        return {}
    return {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "province_code": address.province_code,
        "zip": address.zip,
        "country_code": address.country_code,
        "phone": address.phone,
    }


def must_attach_photos(form: RequestForm, photo_count: int) -> None:
    issue = form.chosen_issue
    if issue is not None and issue.needs_photo and photo_count == 0:
        raise ValidationError(str(_l("Add at least one photo of the damaged or wrong item.")))


class AddressChangeForm(AddressForm):
    """A filed request's new delivery address, with the same rules as the request form's."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        return self.check_address() & valid
