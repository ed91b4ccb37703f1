"""The form for sending a corrected feed file from the pages."""

from django import forms


class FeedFileForm(forms.Form):
    """The file only: it is stamped as extracted when it arrives, like a file sent without a time."""

    file = forms.FileField(
        label="Upload the corrected file",
        help_text="CSV or JSON Lines, with the same columns the source always sends",
        error_messages={"required": "Select the file to send", "empty": "The selected file is empty"},
    )
