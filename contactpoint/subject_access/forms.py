from django import forms


class SubjectAccessForm(forms.Form):
    reference = forms.CharField(
        label="Which request is this?",
        max_length=200,
        help_text="The request's reference and who made it, for the audit log",
        error_messages={"required": "Enter the request's reference"},
    )
    output = forms.ChoiceField(
        label="How do you want it?",
        choices=[("html", "A page to read and print"), ("json", "A JSON file")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select how you want the export"},
    )
