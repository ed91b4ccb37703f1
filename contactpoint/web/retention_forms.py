"""Forms for the team's record-keeping pages: consent to stay live to 25, a death, a correction."""

from typing import Any

from django import forms

from contactpoint.records.statutory import STATUTORY_FIELDS
from contactpoint.retention.models import RetentionConsent
from contactpoint.subject_access.collect import ITEMS

from .forms import date_from_parts


def _tidy(value: Any) -> str:
    return " ".join(str(value or "").split())


class RetentionConsentForm(forms.Form):
    consent = forms.ChoiceField(
        label="Why may the record stay live until the young person is 25?",
        choices=RetentionConsent.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether the young person is a care leaver or has special educational needs"
        },
    )
    evidence = forms.CharField(
        label="How did the young person give their consent?",
        max_length=200,
        help_text="For example, a signed form dated 3 November 2026. Do not include case notes.",
        error_messages={"required": "Enter how the young person gave their consent"},
    )

    def clean_evidence(self) -> str:
        return _tidy(self.cleaned_data.get("evidence"))


class ChildDeathForm(forms.Form):
    died_day = forms.CharField(label="Day", required=False, max_length=2)
    died_month = forms.CharField(label="Month", required=False, max_length=2)
    died_year = forms.CharField(label="Year", required=False, max_length=4)
    source = forms.CharField(
        label="Who told you of the death?",
        max_length=200,
        help_text="For example, the registrar, the child's GP practice or the police",
        error_messages={"required": "Enter who told you of the death"},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["source"] = _tidy(cleaned.get("source"))
        cleaned["died_on"] = date_from_parts(
            self, cleaned, prefix="died", label="Date of death", required=True
        )
        return cleaned


ITEM_LABELS = {
    "ChildName": "Name",
    "ChildGender": "Gender",
    "ChildBirthDate": "Date of birth",
    "ChildAddress": "Address",
    "ChildIdentifier": "Identifier",
    "Carer": "Carer",
    "EducationSetting": "School or other setting",
    "GPRegistration": "GP registration",
    "Involvement": "Service involvement",
}
ITEM_CHOICES = [(model.__name__, ITEM_LABELS[model.__name__]) for model in ITEMS]


class CorrectionForm(forms.Form):
    """One source's value that someone says is wrong. The subject access page fills in which value;
    the team adds the correction and who asked for it."""

    item = forms.ChoiceField(
        label="Which part of the record?",
        choices=[("", "Select the part of the record"), *ITEM_CHOICES],
        error_messages={"required": "Select the part of the record the correction is about"},
    )
    field = forms.CharField(
        label="Which value?",
        max_length=40,
        help_text="The value's name as the subject access page shows it, like given_name",
        error_messages={"required": "Enter the name of the value to correct, like given_name"},
    )
    source = forms.CharField(
        label="Which source holds it?",
        max_length=40,
        help_text="As the subject access page shows it, like la_childrens_services",
        error_messages={"required": "Enter the source that holds the value"},
    )
    source_record_id = forms.CharField(
        label="The source's record number",
        max_length=128,
        error_messages={"required": "Enter the source's record number, shown in brackets after the source"},
    )
    corrected_value = forms.CharField(
        label="What should it say?",
        max_length=200,
        required=False,
        help_text="Leave it empty if the value should not be held at all",
    )
    requested_by = forms.CharField(
        label="Who asked for the correction?",
        max_length=200,
        help_text="For example, the young person, by letter of 3 November 2026",
        error_messages={"required": "Enter who asked for the correction"},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("field", "source", "source_record_id", "corrected_value", "requested_by"):
            cleaned[name] = _tidy(cleaned.get(name))
        item, field = cleaned.get("item"), cleaned.get("field")
        if item and field and field not in STATUTORY_FIELDS.get(item, ()):
            names = ", ".join(sorted(STATUTORY_FIELDS[item]))
            self.add_error("field", f"Enter a value this part of the record holds: {names}")
        return cleaned
