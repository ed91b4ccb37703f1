"""A child's place in the retention lifecycle, and the ledger of what was destroyed.

Live -> archived -> destroyed (domain.md section 7). The state is kept per child rather than
computed on every read so that the door can refuse an archived child with one indexed look-up,
and so that the date a record was archived (which starts both the data managers' first year and
the six-year destruction clock) is a recorded fact, not something recomputed from a birth date
that a later feed may correct.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class RetentionState(models.TextChoices):
    LIVE = "live", "Live"
    ARCHIVED = "archived", "Archived"


class ArchiveBasis(models.TextChoices):
    AGE_18 = "age_18", "Reached 18"
    AGE_25 = "age_25", "Reached 25 (kept live by consent)"
    AFTER_DEATH = "after_death", "A year after the child's death"
    # Ours: a targeted deployment (CONTACTPOINT_SCOPE=targeted) archives a child no longer known to
    # services on the day its scope review finds it; the only basis a review may also undo.
    LEFT_SCOPE = "left_scope", "No longer known to services (targeted scope)"


class RetentionConsent(models.TextChoices):
    CARE_LEAVER = "care_leaver", "Care leaver"
    SPECIAL_EDUCATIONAL_NEEDS = "special_educational_needs", "Special educational needs"


class ChildRetention(models.Model):
    """Where one child is in the lifecycle: consent that keeps them live, death, archiving."""

    child = models.OneToOneField("records.Child", on_delete=models.CASCADE, related_name="retention")
    state = models.CharField(max_length=8, choices=RetentionState.choices, default=RetentionState.LIVE)
    archived_on = models.DateField(null=True, blank=True)
    archive_basis = models.CharField(max_length=12, choices=ArchiveBasis.choices, blank=True)
    consent = models.CharField(max_length=32, choices=RetentionConsent.choices, blank=True)
    consent_recorded_at = models.DateTimeField(null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_evidence = models.CharField(
        max_length=200, blank=True, help_text="How the young person gave consent, for the audit review."
    )
    died_on = models.DateField(null=True, blank=True)
    died_source = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who told the team of the death (a registrar, a GP, the police).",
    )
    died_recorded_at = models.DateTimeField(null=True, blank=True)
    died_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state=RetentionState.LIVE, archived_on__isnull=True, archive_basis="")
                | Q(state=RetentionState.ARCHIVED, archived_on__isnull=False, archive_basis__gt=""),
                name="retention_archived_has_date_and_basis",
            ),
        ]
        indexes = [models.Index(fields=["state", "archived_on"], name="retention_by_state")]


class Destruction(models.Model):
    """One destroyed child: what was removed, never who they were (the ContactPoint ID only, which
    is never reused and reveals nothing once the record is gone)."""

    contactpoint_id = models.CharField(max_length=20, unique=True)
    archived_on = models.DateField(null=True, blank=True)
    destroyed_at = models.DateTimeField()
    rows = models.JSONField(help_text="Rows removed per model.")
    key_id = models.CharField(max_length=40, blank=True, help_text="The child's destroyed data key.")
    reason = models.CharField(max_length=40)


class ChildDataKey(models.Model):
    """A child's data key, stored only wrapped by a key-encryption key kept outside the database.

    Deleting this row is what makes every copy of the child's encrypted values (in backups too)
    unreadable: the key exists nowhere else.
    """

    child = models.OneToOneField("records.Child", on_delete=models.CASCADE, related_name="data_key")
    key_id = models.CharField(max_length=40, unique=True)
    wrapped = models.BinaryField()
    kek_id = models.CharField(max_length=16, help_text="The key-encryption key that wrapped it.")
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)


class TombstoneKind(models.TextChoices):
    SOURCE_RECORD = "source_record", "A source's record of the child"
    NHS_NUMBER = "nhs_number", "The child's NHS number"


class Tombstone(models.Model):
    """A destroyed child's keys, kept so that no feed brings the child back (retention/tombstones.py).

    Only a keyed digest (HMAC-SHA-256 under a key kept outside the database) of a source record
    id or an NHS number: it cannot be read back, and without the key it cannot be tested against
    a guess. No link to the Destruction ledger, so a digest cannot be tied to a ContactPoint ID.
    """

    kind = models.CharField(max_length=16, choices=TombstoneKind.choices)
    # Raw bytes, not hex: a hex digest reads as text, and a name such as "Cade" or "Abbe" would
    # turn up in it often enough to spoil decommissioning's search for identifying values.
    digest = models.BinaryField(max_length=32, unique=True)
    key_id = models.CharField(max_length=16, help_text="The tombstone key that made the digest.")
    destroyed_on = models.DateField()
