"""Forms for the practitioner's pages. Each error message says what to do, as GOV.UK asks."""

import datetime
from typing import Any

from django import forms

from contactpoint.records.models import SENSITIVE_SERVICE_TYPES, ServiceType
from contactpoint.records.services import InvolvementAnswers

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
        born = date_from_parts(self, cleaned, prefix="dob", label="Date of birth", required=False)
        if born is not None and born.year < 1900:
            self.add_error("dob_day", "Year of birth must have 4 numbers, like 2015")
            return None
        return born


def date_from_parts(
    form: forms.Form,
    cleaned: dict[str, Any],
    *,
    prefix: str,
    label: str,
    required: bool,
    future: bool = False,
) -> datetime.date | None:
    """A GOV.UK date input's day, month and year as one date; errors go on the day field."""
    parts = [str(cleaned.get(f"{prefix}_{part}") or "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        if required:
            form.add_error(f"{prefix}_day", f"Enter the {label.lower()}")
        return None
    if not all(parts):
        missing = [name for name, value in zip(("day", "month", "year"), parts, strict=True) if not value]
        form.add_error(f"{prefix}_day", f"{label} must include a {' and '.join(missing)}")
        return None
    try:
        day, month, year = (int(part) for part in parts)
        value = datetime.date(year, month, day)
    except ValueError:
        form.add_error(f"{prefix}_day", f"{label} must be a real date, like 14 3 2015")
        return None
    if not future and value > datetime.date.today():
        form.add_error(f"{prefix}_day", f"{label} must be today or in the past")
        return None
    return value


YES_NO = [("yes", "Yes"), ("no", "No")]
RECORDABLE_SERVICES = [
    (value, label) for value, label in ServiceType.choices if value not in SENSITIVE_SERVICE_TYPES
]


class InvolvementForm(forms.Form):
    """A practitioner's own involvement: the question page before 'check your answers'."""

    service_type = forms.ChoiceField(
        label="Which service are you working with this child in?",
        choices=RECORDABLE_SERVICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the service you are working with this child in"},
    )
    job_title = forms.CharField(
        label="Your job title",
        max_length=120,
        error_messages={"required": "Enter your job title"},
    )
    phone = forms.CharField(label="Phone number", max_length=40, required=False)
    email = forms.EmailField(
        label="Email address",
        required=False,
        error_messages={"invalid": "Enter an email address in the correct format, like name@example.gov.uk"},
    )
    start_day = forms.CharField(label="Day", required=False, max_length=2)
    start_month = forms.CharField(label="Month", required=False, max_length=2)
    start_year = forms.CharField(label="Year", required=False, max_length=4)
    lead = forms.ChoiceField(
        label="Are you the lead professional for this child?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Select yes if you are the lead professional"},
    )
    caf = forms.ChoiceField(
        label="Is there a CAF assessment for this child?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text="Only whether one exists: never its content.",
        error_messages={"required": "Select yes if there is a CAF assessment"},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            not (cleaned.get("phone") or "").strip()
            and not cleaned.get("email")
            and "email" not in self.errors
        ):
            self.add_error("phone", "Enter a phone number or an email address, so others can reach you")
        cleaned["start_date"] = date_from_parts(
            self, cleaned, prefix="start", label="Start date", required=True
        )
        return cleaned

    def answers(self) -> InvolvementAnswers:
        data = self.cleaned_data
        return InvolvementAnswers(
            service_type=data["service_type"],
            start_date=data["start_date"],
            job_title=data["job_title"].strip(),
            phone=data["phone"].strip(),
            email=data["email"],
            is_lead_professional=data["lead"] == "yes",
            has_caf=data["caf"] == "yes",
        )

    @classmethod
    def initial_from(cls, answers: Any) -> dict[str, Any]:
        """Prefill from saved or pending answers (anything with InvolvementAnswers' fields)."""
        start = answers.start_date
        return {
            "service_type": answers.service_type,
            "job_title": answers.job_title,
            "phone": answers.phone,
            "email": answers.email,
            "start_day": start.day if start else "",
            "start_month": start.month if start else "",
            "start_year": start.year if start else "",
            "lead": "yes" if answers.is_lead_professional else "no",
            "caf": "yes" if answers.has_caf else "no",
        }


class EndInvolvementForm(forms.Form):
    end_day = forms.CharField(label="Day", required=False, max_length=2)
    end_month = forms.CharField(label="Month", required=False, max_length=2)
    end_year = forms.CharField(label="Year", required=False, max_length=4)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["end_date"] = date_from_parts(self, cleaned, prefix="end", label="End date", required=True)
        return cleaned


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


class ShieldReviewForm(forms.Form):
    """Renew a shield with its next review date, or end it with the reason it is no longer needed."""

    decision = forms.ChoiceField(
        label="What should happen to this shield?",
        choices=[("renew", "Keep the shield"), ("end", "End the shield")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether to keep the shield or end it"},
    )
    next_day = forms.CharField(label="Day", required=False, max_length=2)
    next_month = forms.CharField(label="Month", required=False, max_length=2)
    next_year = forms.CharField(label="Year", required=False, max_length=4)
    end_reason = forms.CharField(
        label="Why is the shield no longer needed?",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["end_reason"] = " ".join(str(cleaned.get("end_reason") or "").split())
        if cleaned.get("decision") == "renew":
            cleaned["review_due"] = date_from_parts(
                self, cleaned, prefix="next", label="Next review date", required=False, future=True
            )
        elif cleaned.get("decision") == "end" and not cleaned["end_reason"]:
            self.add_error("end_reason", "Enter why the shield is no longer needed")
        return cleaned


DECISIONS = [
    ("same", "Same child: merge them"),
    ("different", "Different children: keep them apart"),
]


class ReviewDecisionForm(forms.Form):
    """A reviewer's answer about one pair; it is confirmed on a 'check your answers' page."""

    decision = forms.ChoiceField(
        label="Are these records about the same child?",
        choices=DECISIONS,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether these records are about the same child"},
    )


class MergeUndoForm(forms.Form):
    """Splitting a merge: the reason goes to the audit log, and the pair is kept apart from then on."""

    reason = forms.CharField(
        label="Why are these two different children?",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, what shows the records are about twins. Do not include case notes.",
        error_messages={"required": "Enter why these are two different children"},
    )

    def clean_reason(self) -> str:
        reason = " ".join(str(self.cleaned_data.get("reason") or "").split())
        if not reason:
            raise forms.ValidationError("Enter why these are two different children")
        return reason


class ShieldAddForm(forms.Form):
    """Shielding a child: the ContactPoint ID and the reason, which the audit log and reviews keep."""

    contactpoint_id = forms.CharField(
        label="ContactPoint ID of the child",
        max_length=20,
        help_text="On the child's record, for example CP4X8K2M9QZT7VA",
        error_messages={"required": "Enter the child's ContactPoint ID"},
    )
    reason = forms.CharField(
        label="Why must this child be shielded?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, a family in a refuge. Kept with the shield and in the audit log; "
        "do not include case notes.",
        error_messages={"required": "Enter why the child must be shielded"},
    )

    def clean_contactpoint_id(self) -> str:
        return "".join(str(self.cleaned_data["contactpoint_id"]).split()).upper()

    def clean_reason(self) -> str:
        reason = " ".join(str(self.cleaned_data.get("reason") or "").split())
        if not reason:
            raise forms.ValidationError("Enter why the child must be shielded")
        return reason


class NotificationPreferenceForm(forms.Form):
    involved_children = forms.BooleanField(
        label="Tell me about changes to children I am working with", required=False
    )
    email = forms.BooleanField(label="Also email me, as well as showing them here", required=False)
