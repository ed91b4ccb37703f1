"""Rectification: a correction someone asked for, and the notice owed to the source that said it.

The index does not overwrite a source's value: the source is the authority for what it asserted
and would assert it again in its next feed. A correction is recorded (what, who asked, who
recorded it) and the source is told; the corrected value arrives through the source's feed.
"""

from django.conf import settings
from django.db import models


class Rectification(models.Model):
    child = models.ForeignKey("records.Child", on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey("records.Source", on_delete=models.PROTECT, related_name="+")
    source_record_id = models.CharField(max_length=128)
    item = models.CharField(max_length=40, help_text="The statutory item, e.g. ChildName.")
    field = models.CharField(max_length=40)
    current_value = models.CharField(max_length=200, blank=True)
    corrected_value = models.CharField(max_length=200, blank=True)
    requested_by = models.CharField(
        max_length=200, help_text="Who asked: the young person, a parent, a body."
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)


class SourceNotification(models.Model):
    """A notice owed to a source; a notifications feature delivers it and sets `delivered_at`."""

    source = models.ForeignKey("records.Source", on_delete=models.PROTECT, related_name="+")
    rectification = models.ForeignKey(Rectification, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, default="rectification")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
