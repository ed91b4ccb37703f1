"""Forms for the practitioner's pages. Each error message says what to do, as GOV.UK asks."""

import datetime
from typing import Any

from django import forms

GENDERS = [("", "Any"), ("female", "Female"), ("male", "Male"), ("not_specified", "Not specified")]


class SearchForm(forms.Form):
    given_name = forms.CharField(label="Given name", required=False, max_length=100)
    family_name = forms.CharField(label="Family name", required=False, max_length=100)
    dob_day = forms.CharField(label="Day", required=False, max_length=2)
    dob_month = forms.CharField(label="Month", required=False, max_length=2)
    dob_year = forms.CharField(label="Year", required=False, max_length=4)
    gender = forms.ChoiceField(label="Gender", choices=GENDERS, required=False, widget=forms.RadioSelect)
    postcode = forms.CharField(
        label="Postcode",
        required=False,
        max_length=8,
        help_text="A full postcode or its first half, like LS6",
    )
    nhs_number = forms.CharField(label="NHS number", required=False, max_length=12)
    upn = forms.CharField(label="Unique pupil number (UPN)", required=False, max_length=13)
    contactpoint_id = forms.CharField(label="ContactPoint ID", required=False, max_length=20)
    exact = forms.BooleanField(label="Exact matches only", required=False)

    IDENTIFIERS = ("nhs_number", "upn", "contactpoint_id")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("given_name", "family_name", "postcode", *self.IDENTIFIERS):
            cleaned[name] = " ".join(str(cleaned.get(name) or "").split())
        cleaned["nhs_number"] = cleaned["nhs_number"].replace(" ", "")
        cleaned["date_of_birth"] = self._date_of_birth(cleaned)
        if not any(cleaned.get(name) for name in (*self.IDENTIFIERS, "given_name", "family_name")):
            raise forms.ValidationError(
                "Enter the child's family name and date of birth, or an identifier such as an NHS number"
            )
        return cleaned

    def _date_of_birth(self, cleaned: dict[str, Any]) -> datetime.date | None:
        parts = [str(cleaned.get(f"dob_{part}") or "").strip() for part in ("day", "month", "year")]
        if not any(parts):
            return None
        if not all(parts):
            missing = [name for name, value in zip(("day", "month", "year"), parts, strict=True) if not value]
            self.add_error("dob_day", f"Date of birth must include a {' and '.join(missing)}")
            return None
        try:
            day, month, year = (int(part) for part in parts)
            born = datetime.date(year, month, day)
        except ValueError:
            self.add_error("dob_day", "Date of birth must be a real date, like 14 3 2015")
            return None
        if born > datetime.date.today():
            self.add_error("dob_day", "Date of birth must be today or in the past")
            return None
        if year < 1900:
            self.add_error("dob_day", "Year of birth must have 4 numbers, like 2015")
            return None
        return born


REASONS = [
    ("safeguarding", "A safeguarding concern about this child"),
    ("referral", "A referral or request for help I have received"),
    ("assessment", "An assessment or plan I am working on"),
    ("contact", "Contacting another practitioner working with this child"),
    ("other", "Another reason"),
]


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why do you need to see this child's record?",
        choices=REASONS,
        widget=forms.RadioSelect,
        error_messages={"required": "Select why you need to see this child's record"},
    )
    details = forms.CharField(
        label="Give details",
        required=False,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required for another reason. Do not include case notes.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        details = " ".join(str(cleaned.get("details") or "").split())
        if cleaned.get("reason") == "other" and not details:
            self.add_error("details", "Enter your reason for seeing this child's record")
        cleaned["details"] = details
        return cleaned

    def reason_text(self) -> str:
        """The reason as the audit log records it: the choice in words, then any details."""
        label = dict(REASONS)[self.cleaned_data["reason"]]
        details = self.cleaned_data["details"]
        return f"{label}: {details}" if details else label


class BreakGlassForm(ReasonForm):
    confirm = forms.BooleanField(
        label="I understand that this override is reported to the shielding authority and investigated",
        error_messages={"required": "Confirm that you understand the override will be investigated"},
    )
