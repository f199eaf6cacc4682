"""The admin's forms for rules and limits. Each field is a choice or a bounded number, never an
expression; the service (``portal.automation.rules``) checks the values again."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.automation.conditions import MAX_COUNT, MAX_DAYS, MAX_MONEY, MAX_TAG, Conditions
from portal.automation.models import AutomationRule, RuleAction
from portal.automation.rules import MAX_NAME, MAX_TEXT
from portal.errors import RuleRefused
from portal.forms import MoneyField, PortalForm
from portal.i18n import lazy_gettext as _l
from portal.reorders.labels import issue_labels, resolution_labels
from portal.reorders.tracking import TrackingState

TRACKING_LABELS = {
    TrackingState.UNFULFILLED.value: _l("Not shipped"),
    TrackingState.IN_TRANSIT.value: _l("In transit"),
    TrackingState.DELIVERED.value: _l("Delivered"),
    TrackingState.PROBLEM.value: _l("Carrier reported a problem"),
    TrackingState.NO_MOVEMENT.value: _l("No tracking movement"),
}
ACTION_LABELS = {
    RuleAction.RESOLVE.value: _l("Resolve as the shopper preferred (primary reorder or refund)"),
    RuleAction.DENY.value: _l("Deny, with this reason to the shopper"),
    RuleAction.ASK.value: _l("Ask the shopper for information, with this question"),
    RuleAction.TAG.value: _l("Tag the request"),
    RuleAction.ASSIGN.value: _l("Assign to an agent"),
    RuleAction.HOLD.value: _l("Hold for review by an agent"),
}


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _count(label: Any, low: int, high: int, hint: Any = None) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(low, high, message=_l("Give a whole number from %(min)s to %(max)s.")),
        ],
        description=hint,
    )


def _amount(label: Any, hint: Any = None) -> MoneyField:
    return MoneyField(
        label,
        places=2,
        validators=[
            Optional(),
            NumberRange(0, MAX_MONEY, message=_l("Give an amount from 0 to %(max)s.")),
        ],
        description=hint,
    )


class RuleForm(PortalForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the rule a name.")), Length(max=MAX_NAME)]
    )
    issue_types = Checkboxes(_l("Problem is one of"), validate_choice=True)
    resolutions = Checkboxes(_l("Shopper prefers one of"), validate_choice=True)
    value_below = _amount(_l("Request value under"), _l("In the store's currency."))
    value_at_least = _amount(_l("Request value at least"))
    max_items = _count(_l("At most this many items"), 1, MAX_COUNT)
    products = StringField(
        _l("One of the items is one of these products"),
        validators=[Optional(), Length(max=800)],
        description=_l("Shopify product ids, e.g. gid://shopify/Product/123, separated by spaces."),
    )
    order_tag = StringField(
        _l("The order carries this tag"), validators=[Optional(), Length(max=MAX_TAG)]
    )
    in_stock = SelectField(
        _l("Stock"),
        choices=[
            SelectChoice("any", _l("Any")),
            SelectChoice("yes", _l("Every item is in stock")),
            SelectChoice("no", _l("Not every item is in stock")),
        ],
        default="any",
    )
    tracking_states = Checkboxes(_l("Parcel is"), validate_choice=True)
    max_days_since_delivery = _count(_l("Delivered at most this many days ago"), 0, MAX_DAYS)
    max_earlier_claims = _count(
        _l("At most this many other claims by the customer in the last year"),
        0,
        MAX_COUNT,
        _l("Requests here and claims in Corso; 0 means this is their first claim in a year."),
    )
    max_risk_signals = _count(_l("At most this many risk signals"), 0, 20)
    action = RadioField(
        _l("Then"),
        choices=[SelectChoice(k, v) for k, v in ACTION_LABELS.items()],
        validators=[DataRequired(_l("Choose what the rule does."))],
    )
    action_text = TextAreaField(
        _l("Reason, question or tag"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l(
            "For a denial or a question: emailed to the shopper; {order}, {reference} and "
            "{store} are filled in. For a tag: the tag."
        ),
    )
    assignee_id = SelectField(_l("Assign to"), choices=[SelectChoice("", _l("Choose"))], default="")

    def offer(self, assignees: list[tuple[int, str]]) -> None:
        self.issue_types.choices = [SelectChoice(str(k), v) for k, v in issue_labels().items()]
        self.resolutions.choices = [SelectChoice(str(k), v) for k, v in resolution_labels().items()]
        self.tracking_states.choices = [SelectChoice(k, v) for k, v in TRACKING_LABELS.items()]
        self.assignee_id.choices = [
            SelectChoice("", _l("Choose")),
            *(SelectChoice(str(i), e) for i, e in assignees),
        ]

    def condition_values(self) -> dict[str, Any]:
        names = (
            "issue_types",
            "resolutions",
            "value_below",
            "value_at_least",
            "max_items",
            "products",
            "order_tag",
            "in_stock",
            "tracking_states",
            "max_days_since_delivery",
            "max_earlier_claims",
            "max_risk_signals",
        )
        return {name: self[name].data for name in names}

    @property
    def chosen_assignee(self) -> int | None:
        value = str(self.assignee_id.data or "")
        return int(value) if value.isdigit() and len(value) <= 18 else None

    def show_refusal(self, exc: RuleRefused) -> None:
        target = self._fields.get(exc.field, self.name)
        target.errors = [*target.errors, exc.message]


def data_from_rule(rule: AutomationRule) -> dict[str, Any]:
    conditions = Conditions.from_json(rule.conditions)
    values = conditions.as_json()
    values["value_below"] = conditions.value_below
    values["value_at_least"] = conditions.value_at_least
    in_stock = values.pop("in_stock", None)
    values["in_stock"] = {True: "yes", False: "no"}.get(in_stock, "any")
    values["products"] = " ".join(values.get("products", []))
    return {
        **values,
        "name": rule.name,
        "action": rule.action,
        "action_text": rule.action_text,
        "assignee_id": str(rule.assignee_id or ""),
    }


class LimitsForm(PortalForm):
    max_per_resolution = MoneyField(
        _l("Most one automatic resolution may be worth"),
        places=2,
        validators=[
            InputRequired(_l("Give an amount.")),
            NumberRange(0, MAX_MONEY, message=_l("Give an amount from 0 to %(max)s.")),
        ],
    )
    max_per_day = MoneyField(
        _l("Most the automatic resolutions of one day may add up to"),
        places=2,
        validators=[
            InputRequired(_l("Give an amount.")),
            NumberRange(0, MAX_MONEY, message=_l("Give an amount from 0 to %(max)s.")),
        ],
    )
    paused = BooleanField(_l("Pause all automation for this store"))


class SwitchForm(PortalForm):
    on = HiddenField(validators=[AnyOf(["on", "off"], message=_l("Choose on or off."))])


class MoveForm(PortalForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"], message=_l("Choose up or down."))])
