"""The targeted scope's own records: which children left it and were archived, and why."""

from django.db import models


class ScopeArchive(models.Model):
    """A child no longer known to services, archived by the targeted scope's review.

    Archived records are kept (the retention rules decide when they are destroyed) but no longer
    shown: the door refuses them. A child who becomes known to services again is restored by the
    next review.
    """

    child = models.OneToOneField("records.Child", on_delete=models.CASCADE, related_name="+")
    archived_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
