"""Forms for the team's user and vetting pages. Each error message says what to do, as GOV.UK asks."""

import datetime
from typing import Any

from django import forms

from contactpoint.access.roles import ROLES
from contactpoint.access.services import TEAM_GRANTABLE_ROLES

from .forms import date_from_parts

ROLE_CHOICES = [(role.code, role.name) for role in ROLES if role.code in TEAM_GRANTABLE_ROLES]
ROLE_HINTS = {role.code: role.description for role in ROLES}


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="What they sign in with. Letters, numbers and @ . + - _ only, like sam.okafor",
        error_messages={"required": "Enter a username"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    family_name = forms.CharField(label="Family name", max_length=150, required=False)
    email = forms.EmailField(
        label="Email address",
        required=False,
        help_text="Where notices about shields and misuse alerts reach them",
        error_messages={"invalid": "Enter an email address in the correct format, like name@example.gov.uk"},
    )
    role = forms.ChoiceField(
        label="What will they do in ContactPoint?",
        choices=ROLE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what they will do in ContactPoint"},
    )
    organisation_code = forms.CharField(
        label="Organisation code",
        max_length=32,
        help_text="Their employer's register code: LA number, school URN or GP practice code",
        error_messages={"required": "Enter the code of the organisation they work for"},
    )

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip()


class VettingForm(forms.Form):
    """The three parts of vetting, each with the date it was done (domain.md section 3)."""

    DATES = (
        ("dbs", "dbs_checked_on", "Date of the enhanced DBS check"),
        ("training", "training_completed_on", "Date ContactPoint training was completed"),
        ("agreement", "agreement_signed_on", "Date the user agreement was signed"),
    )
    dbs_day = forms.CharField(label="Day", required=False, max_length=2)
    dbs_month = forms.CharField(label="Month", required=False, max_length=2)
    dbs_year = forms.CharField(label="Year", required=False, max_length=4)
    training_day = forms.CharField(label="Day", required=False, max_length=2)
    training_month = forms.CharField(label="Month", required=False, max_length=2)
    training_year = forms.CharField(label="Year", required=False, max_length=4)
    agreement_day = forms.CharField(label="Day", required=False, max_length=2)
    agreement_month = forms.CharField(label="Month", required=False, max_length=2)
    agreement_year = forms.CharField(label="Year", required=False, max_length=4)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for prefix, name, label in self.DATES:
            cleaned[name] = date_from_parts(self, cleaned, prefix=prefix, label=label, required=True)
        return cleaned

    @classmethod
    def initial_from(cls, profile: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for prefix, name, _ in cls.DATES:
            value: datetime.date | None = getattr(profile, name)
            if value:
                initial |= {
                    f"{prefix}_day": value.day,
                    f"{prefix}_month": value.month,
                    f"{prefix}_year": value.year,
                }
        return initial


class AccountStatusForm(forms.Form):
    """Suspending or reinstating: the reason is kept with the account and in the audit log."""

    reason = forms.CharField(
        label="Why?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit log. Do not include case notes or children's details.",
        error_messages={"required": "Enter the reason"},
    )

    def clean_reason(self) -> str:
        reason = " ".join(str(self.cleaned_data.get("reason") or "").split())
        if not reason:
            raise forms.ValidationError("Enter the reason")
        return reason
