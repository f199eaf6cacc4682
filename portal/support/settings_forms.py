"""The admin's forms for a store's settings: the settings themselves, and the protection
product chosen from a search. Checks shared with ``portal stores`` live in
``portal.stores.rules``; each ``validate_<field>`` puts their message beside the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    Field,
    FileField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from portal import i18n
from portal.errors import StoreRefused
from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l
from portal.reorders.models import IssueType
from portal.stores import rules
from portal.stores.models import Store
from portal.stores.service import StoreChanges

DAYS = NumberRange(
    min=rules.MIN_CLAIM_DAYS,
    max=rules.MAX_CLAIM_DAYS,
    message=_l("A claim window is 1 to 365 days long."),
)
ISSUE_LABELS = {
    IssueType.LOST: _l("Lost"),
    IssueType.STOLEN: _l("Stolen"),
    IssueType.DAMAGED: _l("Damaged"),
    IssueType.WRONG_ITEM: _l("Wrong item"),
    IssueType.MISSING_ITEM: _l("Missing item"),
}


def _checked_by(check: Callable[[Any], Any]) -> Callable[[PortalForm, Field], None]:
    def validate(form: PortalForm, field: Field) -> None:
        if field.data in (None, ""):
            return
        try:
            check(field.data)
        except StoreRefused as exc:
            raise ValidationError(exc.message) from exc

    return validate


def window_field_name(issue: IssueType) -> str:
    return f"window_{issue.name.lower()}"


class StoreSettingsForm(PortalForm):
    brand_color = StringField(
        _l("Brand colour"),
        validators=[InputRequired(_l("Give the brand colour.")), Length(max=7)],
        description=_l(
            "# and six hex digits, e.g. #1f5c4a: buttons and links on the store's pages."
        ),
    )
    logo = FileField(
        _l("Logo"),
        description=_l("PNG, JPEG or WebP, up to 2 MB; shown at most 512 pixels wide."),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    support_email = EmailField(
        _l("Support email"),
        validators=[InputRequired(_l("Give the support email.")), Length(max=rules.MAX_EMAIL)],
    )
    support_phone = StringField(
        _l("Support phone (optional)"), validators=[Optional(), Length(max=rules.MAX_PHONE)]
    )
    claim_window_days = IntegerField(
        _l("Claim window, days"),
        validators=[InputRequired(_l("Give the claim window in days.")), DAYS],
        description=_l(
            "Days within which a problem may be reported: after shipping for a lost parcel, "
            "after delivery for the others (after shipping when the carrier has not told)."
        ),
    )
    lost_after_quiet_days = IntegerField(
        _l("Lost: days without a tracking update"),
        validators=[
            InputRequired(_l("Give the days without a tracking update.")),
            NumberRange(
                min=rules.MIN_CLAIM_DAYS,
                max=rules.MAX_CLAIM_DAYS,
                message=_l("Days without a tracking update are 1 to 365."),
            ),
        ],
        description=_l("A parcel may be reported lost once it has not moved for this long."),
    )
    lost_after_estimate_days = IntegerField(
        _l("Lost: days past the estimated delivery"),
        validators=[
            InputRequired(_l("Give the days past the estimated delivery.")),
            NumberRange(
                min=0,
                max=rules.MAX_CLAIM_DAYS,
                message=_l("Days past the estimated delivery are 0 to 365."),
            ),
        ],
        description=_l(
            "... or once it is this many days past the carrier's estimate (0: once the "
            "estimate has passed), whichever comes first."
        ),
    )
    corso_client_id = StringField(
        _l("Corso client id"),
        validators=[Optional(), Length(max=rules.MAX_CORSO_CLIENT_ID)],
        description=_l("Leave empty to stop reading this store's Corso claims."),
    )
    corso_client_secret = PasswordField(
        _l("Corso client secret"),
        validators=[Optional(), Length(max=rules.MAX_SECRET)],
    )
    protected_order_email = BooleanField(_l('Email buyers "your order is protected"'))
    default_locale = SelectField(
        _l("Default language of the shopper pages"),
        choices=i18n.languages,
        validators=[Optional()],
        description=_l(
            "For shoppers whose browser asks for none of the portal's languages, and for the "
            '"your order is protected" email.'
        ),
    )

    validate_brand_color = staticmethod(_checked_by(rules.color))
    validate_default_locale = staticmethod(_checked_by(rules.locale))
    validate_support_email = staticmethod(_checked_by(rules.email))
    validate_support_phone = staticmethod(_checked_by(rules.phone))
    validate_corso_client_id = staticmethod(_checked_by(rules.corso_client_id))
    validate_corso_client_secret = staticmethod(
        _checked_by(lambda v: rules.secret(v, "corso_client_secret"))
    )

    @property
    def window_fields(self) -> list[Field]:
        return [self[window_field_name(issue)] for issue in IssueType]

    def changes(self, *, logo_path: str | None = None) -> StoreChanges:
        windows = {
            issue.name: int(self[window_field_name(issue)].data)
            for issue in IssueType
            if self[window_field_name(issue)].data is not None
        }
        return StoreChanges(
            support_email=self.support_email.data.strip(),
            support_phone=(self.support_phone.data or "").strip(),
            claim_window_days=self.claim_window_days.data,
            claim_windows=windows,
            lost_after_quiet_days=self.lost_after_quiet_days.data,
            lost_after_estimate_days=self.lost_after_estimate_days.data,
            brand_color=self.brand_color.data.strip(),
            corso_client_id=(self.corso_client_id.data or "").strip(),
            corso_client_secret=(self.corso_client_secret.data or "").strip() or None,
            protected_order_email=bool(self.protected_order_email.data),
            default_locale=self.default_locale.data or None,
            logo_path=logo_path,
            remove_logo=bool(self.remove_logo.data),
        )

    def show_refusal(self, refused: StoreRefused) -> None:
        """Put a refusal of the service beside its field (or the first field)."""
        name = refused.field if refused.field in self._fields else "brand_color"
        self[name].errors = [*self[name].errors, refused.message]


for _issue in IssueType:
    setattr(
        StoreSettingsForm,
        window_field_name(_issue),
        IntegerField(
            ISSUE_LABELS[_issue],
            validators=[Optional(), DAYS],
            description=_l("Days; empty: the claim window above."),
        ),
    )


def data_from_store(store: Store) -> dict[str, object]:
    """The settings form filled in as the store stands (never its secret)."""
    data: dict[str, object] = {
        "brand_color": store.brand_color,
        "support_email": store.support_email,
        "support_phone": store.support_phone or "",
        "claim_window_days": store.claim_window_days,
        "lost_after_quiet_days": store.lost_after_quiet_days,
        "lost_after_estimate_days": store.lost_after_estimate_days,
        "corso_client_id": store.corso_client_id or "",
        "protected_order_email": store.protected_order_email,
        "default_locale": store.default_locale,
    }
    for issue in IssueType:
        if issue.name in store.claim_windows:
            data[window_field_name(issue)] = store.claim_windows[issue.name]
    return data


class ProtectionProductForm(PortalForm):
    product_id = HiddenField(
        validators=[InputRequired(_l("Choose a product from the search results.")), Length(max=64)]
    )

    validate_product_id = staticmethod(_checked_by(rules.product_id))
