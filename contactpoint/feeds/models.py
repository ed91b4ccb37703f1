"""What the feeds have said: a ledger of files, the latest version of each source record with its
history, the rows held back (quarantined) with their reasons, and per-value data-quality warnings.

A SourceRecord is one source's current account of one child. Loading never links: new and
changed records are flagged `needs_linking` for the linkage step, which turns them into child
record assertions.
"""

from django.db import models
from django.db.models import Q

from contactpoint.records.models import Child, Gender, Source


class FeedFileStatus(models.TextChoices):
    LOADING = "loading", "Loading"
    LOADED = "loaded", "Loaded"


class FeedFile(models.Model):
    """The ledger: one row per distinct file content per source, so a re-sent file is a no-op."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="feed_files")
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=16)
    extracted_at = models.DateTimeField(help_text="When the source asserted the file's values.")
    received_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=FeedFileStatus.choices, default=FeedFileStatus.LOADING)
    rows_done = models.PositiveIntegerField(default=0, help_text="Rows committed so far.")
    report = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "sha256"], name="feedfile_once_per_source")]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.source.code}: {self.name}"


class FeedBatch(models.Model):
    """One committed batch of a file: the rows it covered and what it did.

    Written in the same transaction as the batch's rows, by whichever process wrote them, so the
    set of these rows is exactly what a crashed load committed: a re-run skips their rows. Batches
    may commit out of file order when several processes write, hence ranges, not a prefix.
    """

    file = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="batches")
    first_row = models.PositiveIntegerField()
    last_row = models.PositiveIntegerField()
    report = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "first_row"], name="feedbatch_once")]


class SourceRecord(models.Model):
    """One source's latest account of one child, normalised; superseded accounts are versions.

    The references to the ledger (first_file, last_file) carry no database foreign key: the loader
    writes them in the same transaction as the ledger row they name, and per-row trigger checks
    were most of the database's cost in a national load (see docs/adr/0002).
    """

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="records", db_index=False
    )  # the unique (source, source_record_id) index serves look-ups by source
    source_record_id = models.CharField(max_length=128)
    given_name = models.CharField(max_length=100, blank=True)
    middle_names = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    former_family_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    address_line_1 = models.CharField(max_length=200, blank=True)
    town = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    nhs_number = models.CharField(max_length=10, blank=True)
    upn = models.CharField(max_length=13, blank=True)
    retention_consent = models.CharField(max_length=32, blank=True)
    extras = models.JSONField(default=dict, blank=True, help_text="Carers, school, GP and involvement.")
    content_hash = models.CharField(max_length=32)
    asserted_at = models.DateTimeField()
    first_file = models.ForeignKey(
        FeedFile, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    last_file = models.ForeignKey(
        FeedFile, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    needs_linking = models.BooleanField(default=True)
    child = models.ForeignKey(Child, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_record_id"], name="sourcerecord_unique"),
            models.CheckConstraint(condition=~Q(source_record_id=""), name="sourcerecord_has_id"),
            models.CheckConstraint(
                condition=~Q(given_name="", family_name=""), name="sourcerecord_has_a_name"
            ),
        ]
        indexes = [
            models.Index(
                fields=["needs_linking"], condition=Q(needs_linking=True), name="sourcerecord_to_link"
            )
        ]


class SourceRecordVersion(models.Model):
    """A superseded account, kept as history when the source changed or withdrew it."""

    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="versions")
    values = models.JSONField()
    content_hash = models.CharField(max_length=32)
    asserted_at = models.DateTimeField()
    file = models.ForeignKey(FeedFile, on_delete=models.PROTECT, related_name="+")
    superseded_by_file = models.ForeignKey(FeedFile, on_delete=models.PROTECT, related_name="+")


class QuarantineStatus(models.TextChoices):
    OPEN = "open", "Awaiting correction"
    RESOLVED = "resolved", "Corrected and loaded"


class OwnKeySealed(models.Model):
    """A row whose identifying fields (`OWN_SEALED`) are one blob under a data key of its own, stored
    wrapped by the data KEK beside it: deleting the row shreds it, in old backups too once the KEK
    that wrapped the key is retired. Open and write only through `feeds.sealed`."""

    sealed = models.BinaryField(editable=False)
    key_wrapped = models.BinaryField(editable=False)
    key_id = models.CharField(max_length=32, editable=False)
    kek_id = models.CharField(max_length=16, editable=False)

    OWN_SEALED: tuple[str, ...] = ()

    class Meta:
        abstract = True


class QuarantinedRow(OwnKeySealed):
    """A row that cannot be an in-scope child, kept with its reasons for the source to correct.

    Only columns the source may send are kept; refused columns are never stored. Its cells and
    its warnings (whose messages may quote a cell) are sealed; the reasons are codes and stay
    clear, as do the organisation codes it names (the area a team may see it in).
    """

    OWN_SEALED = ("values", "warnings")

    file = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="quarantined")
    row_number = models.PositiveIntegerField()
    source_record_id = models.CharField(max_length=128, blank=True)
    organisation_codes = models.JSONField(
        default=dict, help_text="Column -> organisation code the row names."
    )
    reasons = models.JSONField()
    status = models.CharField(max_length=8, choices=QuarantineStatus.choices, default=QuarantineStatus.OPEN)
    resolved_by_file = models.ForeignKey(
        FeedFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "row_number"], name="quarantine_row_once")]
        indexes = [models.Index(fields=["status", "source_record_id"], name="quarantine_open_lookup")]


class DataQualityWarning(OwnKeySealed):
    """A value left out of a loaded row, reported back to the source. The message may quote the
    value, so it is sealed; the column and kind stay clear for reports."""

    OWN_SEALED = ("message",)

    file = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="warnings")
    row_number = models.PositiveIntegerField()
    source_record_id = models.CharField(max_length=128)
    column = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
